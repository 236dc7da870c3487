// Issue 2/3: bad input costs one socket, never the process; heartbeat and idle
// timeouts; drain refuses upgrades and tells peers to reconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Socket } from 'node:net';
import { createDevIssuer, type DevIssuer } from '../src/devissuer/issuer.js';
import { closeAll, connectPeer, counterValue, startTestRelay, upgradeStatus, waitFor, type TestPeer, type TestRelay } from './relay-harness.js';
import { e2ee, kexInit, kexResponse, workerRequest } from './frame-fixtures.js';

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await createDevIssuer();
});

async function relayWith(env: Record<string, string> = {}): Promise<TestRelay> {
  return startTestRelay({ RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused', ...env }, { admission: { keySource: issuer.keySource } });
}
type Role = 'workspace-daemon' | 'client' | 'worker';
async function join(r: TestRelay, role: Role, claims: Record<string, unknown> = {}): Promise<TestPeer> {
  const target = role === 'worker' ? {} : { runtimeTargetId: 't1' };
  const token = await issuer.mint({ role, workspaceId: 'w1', ...target, ...claims });
  return connectPeer(r.wsUrl, { role, workspaceId: 'w1', ...target, token });
}

describe('bad frames', () => {
  let r: TestRelay;
  beforeAll(async () => {
    r = await relayWith({ RELAY_MAX_FRAME_BYTES: '4096' });
  });
  afterAll(async () => r.close());

  it.each([
    ['not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['an unknown type', '{"type":"mystery"}'],
    ['an e2ee frame missing its iv', JSON.stringify({ ...e2ee('s'), iv: '' })],
  ])('answers %s with INVALID_FRAME and keeps the client open', async (_name, text) => {
    const client = await join(r, 'client');
    client.send(text);
    expect(await client.next()).toEqual({
      type: 'relay_status',
      code: 'INVALID_FRAME',
      message: 'client frame must be a valid runtime or pairing control frame',
      workspaceId: 'w1',
    });
    client.send(kexInit('still-here'));
    expect(await client.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'DAEMON_UNAVAILABLE' });
    await closeAll([client]);
  });

  it('drops invalid daemon and worker frames silently and keeps them open', async () => {
    const daemon = await join(r, 'workspace-daemon');
    const worker = await join(r, 'worker', { managedExecutorId: 'm1' });
    daemon.send('{"type":"relay_key_exchange_response"}');
    worker.send('garbage');
    const client = await join(r, 'client');
    client.send(kexInit('k'));
    await daemon.next((m) => m.requestId === 'k');
    worker.send(workerRequest('w-1', '/api/runtime/workspaces/w1/managed-executors/other'));
    expect(await worker.next()).toMatchObject({ requestId: 'w-1', status: 403 });
    expect(await counterValue(r.relay, 'relay_frames_daemon_rejected_total')).toBe(2);
    await closeAll([daemon, worker, client]);
  });

  it.each(['client', 'workspace-daemon', 'worker'] as const)('closes an oversized frame from a %s with 1009; others and the process carry on (docs/protocol.md#weak-socket-errors)', async (role) => {
    const bystander = await join(r, 'client', { clientId: 'bystander' });
    const peer = await join(r, role, role === 'worker' ? { managedExecutorId: 'm1' } : {});
    peer.send('x'.repeat(5000));
    expect((await peer.closed).code).toBe(1009);
    bystander.send(kexInit('alive'));
    expect(await bystander.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'DAEMON_UNAVAILABLE' });
    await closeAll([bystander]);
  });

  it('survives a client that sends a torn WebSocket frame', async () => {
    const client = await join(r, 'client');
    (client.ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0x81, 0xfe, 0xff]));
    (client.ws as unknown as { _socket: Socket })._socket.end();
    await client.closed;
    const again = await join(r, 'client');
    await closeAll([again]);
  });
});

describe('heartbeat', () => {
  it('terminates a peer that stops answering pings within interval + pong timeout', async () => {
    const r = await relayWith({ RELAY_PING_INTERVAL_MS: '100', RELAY_PONG_TIMEOUT_MS: '100' });
    const dead = await join(r, 'workspace-daemon');
    const alive = await join(r, 'client');
    (dead.ws as unknown as { _socket: Socket })._socket.pause();
    await waitFor(async () => (await counterValue(r.relay, 'relay_ws_stale_terminated_total')) === 1, 5000, 'stale peer terminated');
    expect(r.relay.state.connections).toBe(1);
    await waitFor(() => alive.ws.readyState === WebSocket.OPEN);
    await closeAll([alive]);
    dead.ws.terminate();
    await r.close();
  });

  it('ends an idle client even though it answers pings (docs/protocol.md#weak-liveness), but not an idle daemon', async () => {
    const r = await relayWith({ RELAY_PING_INTERVAL_MS: '50', RELAY_PONG_TIMEOUT_MS: '1000', RELAY_IDLE_TIMEOUT_MS: '300' });
    const daemon = await join(r, 'workspace-daemon');
    const client = await join(r, 'client');
    expect((await client.closed).code).toBe(1006);
    expect(await counterValue(r.relay, 'relay_ws_idle_terminated_total')).toBe(1);
    expect(daemon.ws.readyState).toBe(WebSocket.OPEN);
    await closeAll([daemon]);
    await r.close();
  });
});

describe('drain', () => {
  it('refuses new upgrades with 503, tells every peer to reconnect, closes them 1012, then finishes', async () => {
    const r = await relayWith({ RELAY_DRAIN_GRACE_MS: '2000' });
    const daemon = await join(r, 'workspace-daemon');
    const client = await join(r, 'client');
    client.send(kexInit('k1'));
    await daemon.next((m) => m.requestId === 'k1');
    daemon.send(kexResponse('k1', 's1'));
    await client.next((m) => m.sessionId === 's1');
    const drained = r.relay.drain();
    expect(await upgradeStatus(r.wsUrl, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token: await issuer.mint({ role: 'client', workspaceId: 'w1' }) })).toBe(503);
    for (const p of [daemon, client]) {
      expect(await p.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'RELAY_SHUTTING_DOWN', retryable: true, reconnectAfterMs: expect.any(Number) });
      expect(await p.closed).toEqual({ code: 1012, reason: 'relay shutting down' });
    }
    await drained;
    expect(r.relay.state.connections).toBe(0);
    await r.close();
  });
});
