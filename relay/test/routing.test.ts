// Issue 3 integration: daemon↔client routing through a real relay with real ws peers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevIssuer, devClaims, type DevIssuer, type DevTokenRequest } from '../src/devissuer/issuer.js';
import { closeAll, connectPeer, counterValue, startTestRelay, type TestPeer, type TestRelay } from './relay-harness.js';
import { e2ee, kexInit, kexResponse, keyUpdate, pairingOffer, pairingOfferResponse } from './frame-fixtures.js';

let issuer: DevIssuer;
let relay: TestRelay;

const JWKS_ENV = { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused' };

beforeAll(async () => {
  issuer = await createDevIssuer();
  relay = await startTestRelay(JWKS_ENV, { admission: { keySource: issuer.keySource } });
});
afterAll(async () => relay.close());

async function peer(req: DevTokenRequest & { clientId?: string }): Promise<TestPeer> {
  const token = await issuer.mint(devClaims(req));
  return connectPeer(relay.wsUrl, {
    role: req.role,
    workspaceId: req.workspaceId,
    ...(req.runtimeTargetId !== undefined ? { runtimeTargetId: req.runtimeTargetId } : {}),
    token,
  });
}

/** openSession runs a key exchange so `client` owns `sessionId` on `daemon`. */
async function openSession(client: TestPeer, daemon: TestPeer, requestId: string, sessionId: string): Promise<void> {
  client.send(kexInit(requestId));
  await daemon.next((m) => m.requestId === requestId);
  daemon.send(kexResponse(requestId, sessionId));
  await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === sessionId);
}

describe('daemon ↔ client routing', () => {
  it('round-trips key exchange and e2ee frames byte for byte', async () => {
    const daemon = await peer({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' });
    const client = await peer({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1' });
    await openSession(client, daemon, 'req-1', 's-1');
    // Extra fields and odd spacing survive: the relay forwards the original text.
    const raw = JSON.stringify(e2ee('s-1', { previousSessionId: 's-0' })).replace('{', '{ ');
    client.send(raw);
    await daemon.next((m) => m.sessionId === 's-1' && m.type === 'e2ee');
    expect(daemon.messages).toContain(raw);
    daemon.send(e2ee('s-1', { seq: 7 }));
    expect(await client.next((m) => m.type === 'e2ee')).toMatchObject({ seq: 7 });
    daemon.send(keyUpdate('s-1'));
    expect(await client.next((m) => m.type === 'relay_key_update_required')).toMatchObject({ nextEpoch: 2 });
    await closeAll([daemon, client]);
  });

  it('counts every routed frame and its bytes, each way', async () => {
    const daemon = await peer({ role: 'workspace-daemon', workspaceId: 'w-count', runtimeTargetId: 't1' });
    const client = await peer({ role: 'client', workspaceId: 'w-count', runtimeTargetId: 't1' });
    await openSession(client, daemon, 'req-count', 's-count');
    const series = {
      toDaemon: ['relay_frames_client_to_daemon_total', {}],
      toDaemonBytes: ['relay_bytes_client_to_daemon_total', {}],
      toDaemonByDirection: ['relay_frames_total', { direction: 'client_to_daemon' }],
      toDaemonBytesByDirection: ['relay_frame_bytes_total', { direction: 'client_to_daemon' }],
      toClients: ['relay_frames_daemon_to_clients_total', {}],
      toClientsBytes: ['relay_bytes_daemon_to_clients_total', {}],
      toClientByDirection: ['relay_frames_total', { direction: 'daemon_to_client' }],
      toClientBytesByDirection: ['relay_frame_bytes_total', { direction: 'daemon_to_client' }],
      sessionLocal: ['relay_session_frame_routed_local_total', {}],
    } as const;
    const read = async () => {
      const out: Record<string, number> = {};
      for (const [key, [name, labels]] of Object.entries(series)) out[key] = await counterValue(relay.relay, name, labels);
      return out;
    };
    const before = await read();
    const up = [1, 2, 3].map((seq) => JSON.stringify(e2ee('s-count', { seq })));
    for (const text of up) client.send(text);
    await daemon.next((m) => m.sessionId === 's-count' && m.seq === 3);
    const down = [4, 5].map((seq) => JSON.stringify(e2ee('s-count', { seq, ciphertext: 'x'.repeat(seq * 10) })));
    for (const text of down) daemon.send(text);
    await client.next((m) => m.type === 'e2ee' && m.seq === 5);
    const after = await read();
    const bytes = (texts: string[]) => texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    const delta = Object.fromEntries(Object.keys(series).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
    expect(delta).toEqual({
      toDaemon: 3,
      toDaemonBytes: bytes(up),
      toDaemonByDirection: 3,
      toDaemonBytesByDirection: bytes(up),
      toClients: 2,
      toClientsBytes: bytes(down),
      toClientByDirection: 2,
      toClientBytesByDirection: bytes(down),
      sessionLocal: 2,
    });
    await closeAll([daemon, client]);
  });

  it('routes pairing responses only to the requesting pairing client', async () => {
    const daemon = await peer({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 'tp' });
    const a = await peer({ role: 'client', workspaceId: 'w1', runtimeTargetId: 'tp', scope: 'pairing' });
    const b = await peer({ role: 'client', workspaceId: 'w1', runtimeTargetId: 'tp', scope: 'pairing' });
    a.send(pairingOffer('pair-a'));
    await daemon.next((m) => m.requestId === 'pair-a');
    daemon.send(pairingOfferResponse('pair-a'));
    await a.next((m) => m.type === 'relay_pairing_offer_response');
    // Answered once: a replayed response has no owner any more and goes nowhere.
    daemon.send(pairingOfferResponse('pair-a'));
    b.send(pairingOffer('pair-b'));
    await daemon.next((m) => m.requestId === 'pair-b');
    expect(b.messages.filter((m) => m.includes('pair-a'))).toEqual([]);
    expect(a.messages.filter((m) => m.includes('relay_pairing_offer_response'))).toHaveLength(1);
    await closeAll([daemon, a, b]);
  });

  it('tells a client DAEMON_UNAVAILABLE when no daemon is connected', async () => {
    const client = await peer({ role: 'client', workspaceId: 'w1', runtimeTargetId: 'nobody' });
    client.send(kexInit('k-1'));
    expect(await client.next((m) => m.type === 'relay_status')).toMatchObject({
      code: 'DAEMON_UNAVAILABLE',
      retryable: true,
      workspaceId: 'w1',
      runtimeTargetId: 'nobody',
    });
    await closeAll([client]);
  });
});
