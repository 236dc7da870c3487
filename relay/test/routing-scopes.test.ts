// Issue 3 integration: scope isolation, backpressure, daemon generations,
// worker transport, session events, scope/profile/rate enforcement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { createDevIssuer, type DevIssuer } from '../src/devissuer/issuer.js';
import { startFakePlatform, type FakePlatform } from './fake-platform.js';
import { closeAll, connectPeer, counterValue, startTestRelay, upgradeStatus, waitFor, type TestPeer, type TestRelay } from './relay-harness.js';
import { e2ee, kexInit, kexResponse, pairingOffer, presence, sessionEvent, subscribe, unsubscribe, workerRequest } from './frame-fixtures.js';

let issuer: DevIssuer;
let platform: FakePlatform;

beforeAll(async () => {
  issuer = await createDevIssuer();
  platform = await startFakePlatform();
});
afterAll(async () => platform.close());

async function relayWith(env: Record<string, string> = {}): Promise<TestRelay> {
  return startTestRelay(
    { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused', SERVER_URL: platform.url, ...env },
    { admission: { keySource: issuer.keySource } },
  );
}

type Role = 'workspace-daemon' | 'client' | 'worker';
async function join(r: TestRelay, role: Role, workspaceId: string, runtimeTargetId: string | undefined, claims: Record<string, unknown> = {}): Promise<TestPeer> {
  const token = await issuer.mint({ role, workspaceId, ...(runtimeTargetId !== undefined ? { runtimeTargetId } : {}), ...claims });
  return connectPeer(r.wsUrl, { role, workspaceId, ...(runtimeTargetId !== undefined ? { runtimeTargetId } : {}), token });
}

async function openSession(client: TestPeer, daemon: TestPeer, requestId: string, sessionId: string): Promise<void> {
  client.send(kexInit(requestId));
  await daemon.next((m) => m.requestId === requestId);
  daemon.send(kexResponse(requestId, sessionId));
  await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === sessionId);
}

const pause = (p: TestPeer) => (p.ws as unknown as { _socket: Socket })._socket.pause();
const resume = (p: TestPeer) => (p.ws as unknown as { _socket: Socket })._socket.resume();

describe('scope isolation', () => {
  it('never lets a frame cross workspaces or runtime targets, including ids that would collide when joined (docs/protocol.md#weak-scope-key)', async () => {
    const r = await relayWith();
    const scopes: Array<[string, string]> = [
      ['wa', 't1'],
      ['wa', 't2'],
      ['wb', 't1'],
      ['wb', 't2'],
      ['x:y', 'z'],
      ['x', 'y:z'],
    ];
    const pairs = [];
    for (const [w, t] of scopes) {
      const label = `${w}|${t}`;
      const daemon = await join(r, 'workspace-daemon', w, t);
      const client = await join(r, 'client', w, t, { clientId: `c-${label}` });
      await openSession(client, daemon, `req-${label}`, `s-${label}`);
      pairs.push({ label, daemon, client });
    }
    for (const { label, daemon, client } of pairs) {
      client.send(e2ee(`s-${label}`));
      daemon.send(e2ee(`s-${label}`, { seq: 2 }));
    }
    for (const { label, daemon, client } of pairs) {
      await daemon.next((m) => m.type === 'e2ee' && m.sessionId === `s-${label}`);
      await client.next((m) => m.type === 'e2ee' && m.sessionId === `s-${label}`);
    }
    // Every message any peer received names only its own scope.
    for (const { label, daemon, client } of pairs) {
      for (const m of [...daemon.messages, ...client.messages]) {
        const parsed = JSON.parse(m) as { requestId?: string; sessionId?: string };
        const id = parsed.sessionId ?? parsed.requestId ?? '';
        expect(id.endsWith(label), `${label} received ${m}`).toBe(true);
      }
    }
    await closeAll(pairs.flatMap((p) => [p.daemon, p.client]));
    await r.close();
  });

  it('drops a client e2ee frame for a session another client owns (docs/protocol.md#weak-session-ownership)', async () => {
    const r = await relayWith();
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    const owner = await join(r, 'client', 'w1', 't1', { clientId: 'owner' });
    const intruder = await join(r, 'client', 'w1', 't1', { clientId: 'intruder' });
    await openSession(owner, daemon, 'r1', 's1');
    intruder.send(e2ee('s1', { seq: 99 }));
    owner.send(e2ee('s1', { seq: 2 }));
    await daemon.next((m) => m.type === 'e2ee' && m.seq === 2);
    expect(daemon.messages.some((m) => m.includes('"seq":99'))).toBe(false);
    expect(await counterValue(r.relay, 'relay_frames_dropped_total', { reason: 'session_not_owned' })).toBe(1);
    await closeAll([daemon, owner, intruder]);
    await r.close();
  });
});

describe('backpressure', () => {
  it('closes a client that stops reading with 4008 buffer overflow while a fast one keeps flowing', async () => {
    // Heartbeat and idle timers far beyond the test, so only the overflow can end the slow client.
    const r = await relayWith({ RELAY_MAX_PENDING_BYTES: String(256 * 1024), RELAY_PING_INTERVAL_MS: '600000', RELAY_IDLE_TIMEOUT_MS: '600000' });
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    const slow = await join(r, 'client', 'w1', 't1', { clientId: 'slow' });
    const fast = await join(r, 'client', 'w1', 't1', { clientId: 'fast' });
    await openSession(slow, daemon, 'rs', 'slow');
    await openSession(fast, daemon, 'rf', 'fast');
    pause(slow);
    const overflowed = async () => (await counterValue(r.relay, 'relay_ws_slow_client_terminated_total')) === 1;
    const blob = 'A'.repeat(60 * 1024);
    // Phase 1: the daemon sends in small batches and the fast client reads each one; the
    // paused one falls behind until the relay gives up on it. Loopback kernel buffers hold
    // a few MB, so this ends within a few hundred frames; the cap keeps a regression bounded.
    let seq = 0;
    while (!(await overflowed())) {
      expect(seq).toBeLessThan(3000);
      for (let j = 0; j < 3; j++) {
        seq += 1;
        daemon.send(e2ee('slow', { seq, ciphertext: blob }));
        daemon.send(e2ee('fast', { seq, ciphertext: blob }));
      }
      await fast.next((m) => m.type === 'e2ee' && m.seq === seq, 15_000);
    }
    // Phase 2: with no other traffic competing, the slow client reads its backlog and then the close frame.
    resume(slow);
    expect(await slow.closed).toEqual({ code: 4008, reason: 'buffer overflow' });
    // Phase 3: the fast client was never held back and keeps flowing after its neighbour left.
    const total = seq + 30;
    while (seq < total) {
      seq += 1;
      daemon.send(e2ee('fast', { seq, ciphertext: blob }));
    }
    await fast.next((m) => m.type === 'e2ee' && m.seq === total, 15_000);
    const fastSeqs = fast.messages.filter((m) => m.startsWith('{"type":"e2ee"')).map((m) => (JSON.parse(m) as { seq: number }).seq);
    expect(fastSeqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(fast.ws.readyState).toBe(fast.ws.OPEN);
    await closeAll([daemon, fast]);
    await r.close();
  }, 60_000);
});

describe('daemon generations', () => {
  it('lets a higher generation take over at once; refuses stale and equal ones (docs/protocol.md#weak-daemon-takeover)', async () => {
    const r = await relayWith();
    const old = await join(r, 'workspace-daemon', 'w1', 't1', { daemonIssueGeneration: 1 });
    pause(old); // half-open: it would never answer a ping in time
    const next = await join(r, 'workspace-daemon', 'w1', 't1', { daemonIssueGeneration: 2 });
    const client = await join(r, 'client', 'w1', 't1');
    client.send(kexInit('after-takeover'));
    await next.next((m) => m.requestId === 'after-takeover');
    resume(old);
    expect(await old.closed).toEqual({ code: 4008, reason: 'superseded' });
    const stale = await join(r, 'workspace-daemon', 'w1', 't1', { daemonIssueGeneration: 1 });
    expect(await stale.closed).toEqual({ code: 4008, reason: 'stale daemon generation' });
    const same = await join(r, 'workspace-daemon', 'w1', 't1', { daemonIssueGeneration: 2 });
    expect(await same.closed).toEqual({ code: 4008, reason: 'daemon already connected' });
    expect(next.ws.readyState).toBe(next.ws.OPEN);
    await closeAll([next, client]);
    await r.close();
  });
});

describe('worker transport', () => {
  it('forwards an authorised request and refuses path escapes after normalisation (docs/protocol.md#weak-worker-path)', async () => {
    const r = await relayWith();
    platform.route('GET', '/api/runtime/workspaces/w1/managed-executors/m1/claim', () => ({ body: { ok: true, claimed: 1 }, headers: { 'set-cookie': 'no' } }));
    const worker = await join(r, 'worker', 'w1', undefined, { managedExecutorId: 'm1' });
    worker.send(workerRequest('ok-1', '/api/runtime/workspaces/w1/managed-executors/m1/claim'));
    const okReply = await worker.next((m) => m.requestId === 'ok-1');
    expect(okReply).toMatchObject({ type: 'viewport.worker_transport.response/v1', status: 200 });
    expect(JSON.parse(okReply.body as string)).toEqual({ ok: true, claimed: 1 });
    expect((okReply.headers as Record<string, string>)['set-cookie']).toBeUndefined();
    const escapes = [
      '/api/runtime/workspaces/w1/managed-executors/m1/../m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1/%2e%2e/m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1/%2E%2E/%2E%2E/%2E%2E/admin',
      '/api/runtime/workspaces/w1/managed-executors/m1//evil',
      // Issue 22, item 11: a `;` parameter hides a dot segment from a plain check, and Tomcat-style servers strip it.
      '/api/runtime/workspaces/w1/managed-executors/m1/..;/m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1/..;x=1/m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1/%2e%2e;/m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1/..%3b/m2/claim',
      '/api/runtime/workspaces/w1/managed-executors/m1?x=../../m2',
      '/api/runtime/workspaces/w1/managed-executors/m1#frag',
      '/api/runtime/workspaces/w1/managed-executors/m2/claim',
    ];
    for (const [i, path] of escapes.entries()) {
      worker.send(workerRequest(`bad-${i}`, path));
      const reply = await worker.next((m) => m.requestId === `bad-${i}`);
      expect(reply.status, path).toBe(403);
      expect(reply.body).toContain('WORKER_TRANSPORT_PATH_DENIED');
    }
    expect(platform.requests.filter((q) => q.path.includes('m2') || q.path.includes('admin'))).toEqual([]);
    await closeAll([worker]);
    await r.close();
  });
});

describe('request ownership (issue 22, item 9)', () => {
  it('the first client to send a key-exchange requestId gets the response; another client reusing it is refused', async () => {
    const r = await relayWith();
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    const victim = await join(r, 'client', 'w1', 't1', { clientId: 'victim' });
    const attacker = await join(r, 'client', 'w1', 't1', { clientId: 'attacker' });
    const rejected = () => counterValue(r.relay, 'relay_frames_client_rejected_total');
    const before = await rejected();
    victim.send(kexInit('kx-1'));
    await daemon.next((m) => m.requestId === 'kx-1');
    // The attacker learned the in-flight requestId and sends its own init with it.
    attacker.send(kexInit('kx-1'));
    expect(await attacker.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'INVALID_FRAME' });
    expect(await rejected()).toBe(before + 1);
    daemon.send(kexResponse('kx-1', 's-victim'));
    await victim.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === 's-victim');
    // The daemon saw one init, the attacker none of the response; the attacker stays connected.
    expect(daemon.messages.filter((m) => m.includes('"kx-1"'))).toHaveLength(1);
    expect(attacker.messages.filter((m) => m.includes('s-victim'))).toEqual([]);
    expect(attacker.ws.readyState).toBe(attacker.ws.OPEN);
    expect(r.logLines.filter((l) => l.includes('"request_id_taken"'))).toHaveLength(1);
    await closeAll([daemon, victim, attacker]);
    await r.close();
  });
});

describe('session events', () => {
  const channel = 'agent-session:abc';
  it('authorises subscriptions, fans out daemon events (docs/protocol.md#weak-session-events) and presence, binds presence userId to the token', async () => {
    const r = await relayWith();
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    const claims = { scope: 'session-events', sessionChannels: [channel] };
    const a = await join(r, 'client', 'w1', 't1', { ...claims, userId: 'ua' });
    const b = await join(r, 'client', 'w1', 't1', { ...claims, userId: 'ub' });
    a.send(subscribe('agent-session:other'));
    expect(await a.next()).toMatchObject({ type: 'viewport.session_events.subscribe_denied/v1', reason: 'CHANNEL_NOT_AUTHORIZED', workspaceId: 'w1' });
    a.send(subscribe(channel, 5));
    expect(await a.next((m) => m.type === 'viewport.session_events.subscribed/v1')).toMatchObject({ channel, afterSequence: 5, authoritativeSource: 'session_events', websocketRequiredForBackfill: false });
    b.send(subscribe(channel));
    await b.next((m) => m.type === 'viewport.session_events.subscribed/v1');
    daemon.send(sessionEvent(channel, 1));
    await a.next((m) => m.schema === 'viewport.session_event_relay_frame/v1');
    await b.next((m) => m.schema === 'viewport.session_event_relay_frame/v1');
    a.send(presence(channel, 'ua'));
    expect(await b.next((m) => m.type === 'viewport.session_viewer_presence/v1')).toMatchObject({ userId: 'ua' });
    a.send(presence(channel, 'ub')); // spoofing another user
    expect(await a.next((m) => m.type === 'viewport.session_viewer_presence_denied/v1')).toMatchObject({ channel });
    a.send(kexInit('nope'));
    expect(await a.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'SESSION_EVENTS_SCOPE_ONLY' });
    b.send(unsubscribe(channel));
    expect(await b.next((m) => m.type === 'viewport.session_events.unsubscribed/v1')).toMatchObject({ channel });
    expect(b.messages.some((m) => m.includes('"userId":"ub"'))).toBe(false);
    await closeAll([daemon, a, b]);
    await r.close();
  });
});

describe('per-frame enforcement', () => {
  it.each([
    ['runtime scope only', 'runtime', pairingOffer('p1')],
    ['pairing scope only', 'pairing', kexInit('k1')],
    ['session-events scope required', 'runtime', subscribe('agent-session:x')],
    ['client frame profile mismatch', 'runtime', kexInit('k2', 'noise-ikpsk2')],
  ])('closes 4008 %s', async (reason, scope, frame) => {
    const r = await relayWith();
    const client = await join(r, 'client', 'w1', 't1', { scope, e2eeProfile: 'noise-ik' });
    client.send(frame);
    expect(await client.closed).toEqual({ code: 4008, reason });
    await r.close();
  });

  it('closes a daemon whose frame profile is weaker than its claim, accepts a stronger one', async () => {
    const r = await relayWith();
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1', { e2eeProfile: 'noise-ikpsk2' });
    daemon.send(e2ee('s', {}, 'noise-ik'));
    expect(await daemon.closed).toEqual({ code: 4008, reason: 'daemon frame profile mismatch' });
    await r.close();
  });

  it('closes past the key-exchange rate with 4008', async () => {
    const r = await relayWith({ RELAY_KEX_INIT_RATE_PER_MINUTE: '2' });
    const client = await join(r, 'client', 'w1', 't1');
    for (let i = 0; i < 3; i++) client.send(kexInit(`k${i}`));
    expect(await client.closed).toEqual({ code: 4008, reason: 'key exchange rate limit exceeded' });
    await r.close();
  });

  it('closes past the runtime rate with 4008', async () => {
    const r = await relayWith({ RELAY_RUNTIME_RATE_PER_MINUTE: '3' });
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    const client = await join(r, 'client', 'w1', 't1', { clientId: 'rl' });
    await openSession(client, daemon, 'r', 's');
    for (let i = 0; i < 5; i++) client.send(e2ee('s', { seq: i + 1 }));
    expect(await client.closed).toEqual({ code: 4008, reason: 'runtime rate limit exceeded' });
    await closeAll([daemon]);
    await r.close();
  });

  it('closes a daemon past its per-workspace rate with 4008', async () => {
    const r = await relayWith({ RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: '3' });
    const daemon = await join(r, 'workspace-daemon', 'w1', 't1');
    for (let i = 0; i < 5; i++) daemon.send(e2ee('s', { seq: i + 1 }));
    expect(await daemon.closed).toEqual({ code: 4008, reason: 'daemon rate limit exceeded' });
    await r.close();
  });

  it('closes past the pairing rate with 4008', async () => {
    const r = await relayWith({ RELAY_PAIRING_RATE_PER_MINUTE: '1' });
    const client = await join(r, 'client', 'w1', 't1', { scope: 'pairing' });
    client.send(pairingOffer('p1'));
    client.send(pairingOffer('p2'));
    expect(await client.closed).toEqual({ code: 4008, reason: 'pairing rate limit exceeded' });
    await r.close();
  });
});

describe('scope lifecycle', () => {
  it('a new daemon starts with no session routes; empty scopes are evicted after the TTL', async () => {
    const r = await relayWith({ RELAY_CLEANUP_INTERVAL_MS: '50', RELAY_EMPTY_WORKSPACE_TTL_MS: '100' });
    const first = await join(r, 'workspace-daemon', 'w1', 't1');
    const client = await join(r, 'client', 'w1', 't1');
    await openSession(client, first, 'r1', 's1');
    first.ws.close();
    await first.closed;
    const second = await join(r, 'workspace-daemon', 'w1', 't1');
    second.send(e2ee('s1', { seq: 2 }));
    client.send(kexInit('r2'));
    await second.next((m) => m.requestId === 'r2');
    expect(client.messages.some((m) => m.includes('"seq":2'))).toBe(false);
    await closeAll([second, client]);
    await waitFor(() => r.relay.state.scopes === 0, 5000, 'scope eviction');
    expect(await counterValue(r.relay, 'relay_workspace_evictions_total')).toBe(1);
    await r.close();
  });
});

describe('origin allow-list', () => {
  it('refuses a browser from another origin with 403 and lets daemons (no Origin) through', async () => {
    const r = await relayWith({ RELAY_ALLOWED_ORIGINS: 'https://app.example.com' });
    const token = await issuer.mint({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1' });
    const base = { role: 'client' as const, workspaceId: 'w1', runtimeTargetId: 't1', token };
    expect(await upgradeStatus(r.wsUrl, { ...base, headers: { origin: 'https://evil.example.net' } })).toBe(403);
    expect(await upgradeStatus(r.wsUrl, { ...base, headers: { origin: 'https://app.example.com' } })).toBe(101);
    const daemonToken = await issuer.mint({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' });
    expect(await upgradeStatus(r.wsUrl, { ...base, role: 'workspace-daemon', token: daemonToken })).toBe(101);
    await r.close();
  });
});

