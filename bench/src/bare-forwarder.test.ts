// The yardstick must route like the relay, or the comparison means nothing:
// client frames reach the daemon, daemon frames reach only the session owner.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBareForwarder } from './bare-forwarder.js';
import { e2eeEnvelope, kexInit, kexResponse } from './envelopes.js';

const servers: ReturnType<typeof createBareForwarder>[] = [];
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(): Promise<string> {
  const server = createBareForwarder({ parseEveryFrame: true });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

async function connect(url: string, role: string): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  const ws = new WebSocket(`${url}?role=${role}&workspaceId=w1&runtimeTargetId=rt-1`);
  sockets.push(ws);
  const inbox: string[] = [];
  const waiters: ((s: string) => void)[] = [];
  ws.on('message', (data) => {
    const text = (data as Buffer).toString();
    const w = waiters.shift();
    if (w) w(text);
    else inbox.push(text);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = (): Promise<string> => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((r) => waiters.push(r)));
  return { ws, next };
}

describe('bare forwarder', () => {
  it('pairs each client with its session and forwards bytes verbatim', async () => {
    const url = await listen();
    const daemon = await connect(url, 'workspace-daemon');
    const a = await connect(url, 'client');
    const b = await connect(url, 'client');
    for (const [client, id] of [[a, 'a'], [b, 'b']] as const) {
      client.ws.send(kexInit(`req-${id}`));
      expect(JSON.parse(await daemon.next())).toMatchObject({ requestId: `req-${id}` });
      daemon.ws.send(kexResponse(`req-${id}`, `s-${id}`));
      expect(JSON.parse(await client.next())).toMatchObject({ sessionId: `s-${id}` });
    }
    const toB = e2eeEnvelope('s-b', 1, 300);
    daemon.ws.send(toB);
    const toA = e2eeEnvelope('s-a', 2, 400);
    daemon.ws.send(toA);
    expect(await b.next()).toBe(toB);
    expect(await a.next()).toBe(toA);
    const up = e2eeEnvelope('s-a', 3, 256);
    a.ws.send(up);
    expect(await daemon.next()).toBe(up);
  });
});
