// Issue 11, input fuzzing (socket layer): generated frames, upgrade requests and
// admin requests sent to a live relay over real sockets. The pure parsers are
// the oracle: every frame they refuse must come back as a counted reject, every
// frame they accept must be routed or counted as dropped, byte for byte. No
// unhandled rejection or uncaught exception may reach the process.
import fc from 'fast-check';
import { connect } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createDevIssuer, type DevIssuer } from '../../src/devissuer/issuer.js';
import { parseClientFrame, parseDaemonFrame, parseWorkerFrame, workerResponse } from '../../src/frames/index.js';
import { checkClientFrame } from '../../src/routing/route.js';
import { e2ee, kexInit, kexResponse, keyUpdate, pairingOfferResponse, sessionEvent, workerRequest } from '../frame-fixtures.js';
import { connectPeer, counterValue, startTestRelay, waitFor, type TestPeer, type TestRelay } from '../relay-harness.js';
import { invalidUtf8Bytes, mutatedFrame } from './fuzz-inputs.js';
import { report, scaled } from './long-run.js';
import { watchProcessFaults, type ProcessFaults } from './process-faults.js';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

const MAX_FRAME = 4096;
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';
const SEED = 11;

let issuer: DevIssuer;
let relay: TestRelay;
let faults: ProcessFaults;
let socketCases = 0;

beforeAll(async () => {
  faults = watchProcessFaults();
  issuer = await createDevIssuer();
  relay = await startTestRelay(
    {
      RELAY_ADMISSION_MODE: 'jwks',
      RELAY_JWKS_URL: 'http://127.0.0.1:9/unused',
      RELAY_MAX_FRAME_BYTES: String(MAX_FRAME),
      RELAY_UPGRADE_RATE_PER_MINUTE: '1000000',
      RELAY_MAX_CONNECTIONS_PER_IP: '10000',
      RELAY_KEX_INIT_RATE_PER_MINUTE: '1000000',
      RELAY_RUNTIME_RATE_PER_MINUTE: '1000000',
      RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE: '1000000',
      RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: '1000000',
      // Every generated frame on few sockets: the inbound budget and invalid-frame allowance are not under test here.
      RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: '1000000',
      RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: '100000000000',
      RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: '1000000',
      RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: '100000000000',
      RELAY_MAX_INVALID_FRAMES_PER_MINUTE: '1000000',
      // Worker requests arrive in one burst; the tunnel's in-flight bounds are not under test here either.
      RELAY_WORKER_MAX_IN_FLIGHT: '1000000',
      RELAY_WORKER_MAX_BUFFERED_BYTES: '100000000000000',
      RELAY_WORKER_MAX_BUFFERED_BYTES_TOTAL: '100000000000000',
      RELAY_ENABLE_ADMIN_HTTP: '1',
      RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      RELAY_MAX_LOGS: '50',
    },
    {
      admission: { keySource: issuer.keySource },
      // The platform is not under test here: answer every authorised worker request locally.
      forwardWorker: async (req) => ({ frame: workerResponse(req.requestId, 200, {}, ''), ok: true }),
    },
  );
});

afterAll(async () => {
  await relay.close();
  faults.stop();
  report(`socket fuzzing: ${socketCases} generated cases through live sockets`);
  expect(faults.seen()).toEqual([]);
});

async function join(role: 'workspace-daemon' | 'client' | 'worker', claims: Record<string, unknown> = {}): Promise<TestPeer> {
  const target = role === 'worker' ? {} : { runtimeTargetId: 't1' };
  const token = await issuer.mint({ role, workspaceId: 'w1', ...target, ...claims });
  return connectPeer(relay.wsUrl, { role, workspaceId: 'w1', ...target, token });
}

const count = (name: string) => counterValue(relay.relay, name);
async function sum(names: readonly string[]): Promise<number> {
  let n = 0;
  for (const name of names) n += await count(name);
  return n;
}

/** Outbound is one generated frame as it goes on the wire. */
interface Outbound {
  readonly data: string | Buffer;
  readonly binary: boolean;
  readonly text: string;
}
const asText = (s: string): Outbound => ({ data: s, binary: false, text: s });
const asBinary = (b: Buffer): Outbound => ({ data: b, binary: true, text: b.toString('utf8') });

function frames(bases: readonly object[], n: number): Outbound[] {
  const arb = fc.oneof(
    fc.string({ maxLength: 120 }).map(asText),
    fc.json({ maxDepth: 4 }).map(asText),
    mutatedFrame(bases).map(asText),
    mutatedFrame(bases).map((t) => asBinary(Buffer.from(t))),
    invalidUtf8Bytes().map(asBinary),
    fc.constantFrom(...bases).map((b) => asText(JSON.stringify(b))),
  );
  return fc.sample(arb, { numRuns: n, seed: SEED }).filter((f) => Buffer.byteLength(f.text) <= MAX_FRAME && (typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.length) <= MAX_FRAME);
}

/** drained resolves once the relay has handled everything the peer sent before (a ping answered in order). */
function drained(peer: TestPeer): Promise<void> {
  return new Promise((resolve) => {
    peer.ws.once('pong', () => resolve());
    peer.ws.ping();
  });
}

describe('frames through real sockets', () => {
  it('client frames: every refused frame is answered INVALID_FRAME and counted; every accepted one is forwarded verbatim or counted as dropped', async () => {
    const daemon = await join('workspace-daemon');
    const client = await join('client', { clientId: 'fuzz-client' });
    const sender = { scope: 'runtime', e2eeProfile: undefined, sessionChannels: new Set<string>(), userId: undefined } as const;
    const before = {
      rejected: await count('relay_frames_client_rejected_total'),
      routed: await sum(['relay_frames_client_to_daemon_total', 'relay_client_messages_dropped_total']),
    };
    let invalid = 0;
    let routed = 0;
    const sent = new Set<string>();
    for (const f of frames([e2ee('s1'), kexInit('r1'), kexInit('r2', 'noise-ikpsk2')], scaled(1500, 15_000))) {
      const parsed = parseClientFrame(f.text);
      const check = checkClientFrame(parsed.ok ? parsed.frame : null, sender);
      if (check.action === 'close') continue; // scope closes are covered by routing tests; keep this client open
      if (check.action === 'status') invalid += 1;
      else routed += 1;
      sent.add(f.text);
      client.ws.send(f.data, { binary: f.binary });
      socketCases += 1;
    }
    await drained(client);
    await waitFor(async () => (await count('relay_frames_client_rejected_total')) - before.rejected === invalid, 10_000, 'client rejects counted');
    await waitFor(
      async () => (await sum(['relay_frames_client_to_daemon_total', 'relay_client_messages_dropped_total'])) - before.routed === routed,
      10_000,
      'accepted client frames routed or dropped',
    );
    await drained(daemon);
    const statuses = client.messages.filter((m) => m.includes('"INVALID_FRAME"'));
    expect(statuses).toHaveLength(invalid);
    // Whatever reached the daemon is a frame the client sent, unchanged.
    for (const m of daemon.messages) expect(sent.has(m)).toBe(true);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    expect(invalid).toBeGreaterThan(0);
    expect(routed).toBeGreaterThan(0);
    client.ws.close();
    daemon.ws.close();
  });

  it('daemon frames: refused ones are counted and dropped silently; accepted ones are routed or counted as dropped', async () => {
    const daemon = await join('workspace-daemon');
    const routeCounters = [
      'relay_key_exchange_response_routed_local_total',
      'relay_key_exchange_response_dropped_total',
      'relay_pairing_response_routed_local_total',
      'relay_pairing_response_dropped_total',
      'relay_session_frame_routed_local_total',
      'relay_session_frame_dropped_total',
      'relay_session_event_frame_delivered_total',
      'relay_session_event_frame_dropped_total',
    ];
    const before = { rejected: await count('relay_frames_daemon_rejected_total'), routed: await sum(routeCounters) };
    let invalid = 0;
    let valid = 0;
    for (const f of frames([e2ee('s1'), kexResponse('r9', 's9'), keyUpdate('s1'), pairingOfferResponse('p1'), sessionEvent('agent-session:a')], scaled(1000, 10_000))) {
      if (parseDaemonFrame(f.text).ok) valid += 1;
      else invalid += 1;
      daemon.ws.send(f.data, { binary: f.binary });
      socketCases += 1;
    }
    await drained(daemon);
    await waitFor(async () => (await count('relay_frames_daemon_rejected_total')) - before.rejected === invalid, 10_000, 'daemon rejects counted');
    await waitFor(async () => (await sum(routeCounters)) - before.routed === valid, 10_000, 'daemon frames routed or dropped');
    expect(daemon.messages).toEqual([]);
    expect(daemon.ws.readyState).toBe(WebSocket.OPEN);
    daemon.ws.close();
  });

  it('worker frames: refused ones are counted; accepted ones are answered (403 outside its prefix)', async () => {
    const worker = await join('worker', { managedExecutorId: 'm1' });
    const before = {
      rejected: await count('relay_frames_daemon_rejected_total'),
      answered: await sum(['relay_worker_transport_rejected_total', 'relay_worker_transport_forwarded_total', 'relay_worker_transport_forward_failed_total']),
    };
    const bases = [workerRequest('q1', '/api/runtime/workspaces/w1/managed-executors/m1/claim', 'POST'), workerRequest('q2', '/api/runtime/workspaces/w1/managed-executors/m2/claim')];
    let invalid = 0;
    let valid = 0;
    for (const f of frames(bases, scaled(500, 5000))) {
      if (parseWorkerFrame(f.text).ok) valid += 1;
      else invalid += 1;
      worker.ws.send(f.data, { binary: f.binary });
      socketCases += 1;
    }
    await drained(worker);
    await waitFor(async () => (await count('relay_frames_daemon_rejected_total')) - before.rejected === invalid, 10_000, 'worker rejects counted');
    await waitFor(
      async () => (await sum(['relay_worker_transport_rejected_total', 'relay_worker_transport_forwarded_total', 'relay_worker_transport_forward_failed_total'])) - before.answered === valid,
      10_000,
      'worker requests answered',
    );
    await waitFor(() => worker.messages.length === valid, 10_000, 'one reply per valid request');
    worker.ws.close();
  });

  it('fragments reassemble into one frame; a frame of exactly the limit passes, one byte over closes 1009 for every role', async () => {
    const daemon = await join('workspace-daemon');
    const client = await join('client');
    const text = JSON.stringify(kexInit('fragmented'));
    client.ws.send(text.slice(0, 10), { fin: false });
    client.ws.send(text.slice(10, 40), { fin: false });
    client.ws.send(text.slice(40), { fin: true });
    expect(await daemon.next((m) => m.requestId === 'fragmented')).toEqual(JSON.parse(text));

    const padded = (n: number) => {
      const bare = JSON.stringify({ ...kexInit('limit'), pad: '' });
      return JSON.stringify({ ...kexInit('limit'), pad: 'x'.repeat(n - Buffer.byteLength(bare)) });
    };
    expect(Buffer.byteLength(padded(MAX_FRAME))).toBe(MAX_FRAME);
    client.send(padded(MAX_FRAME));
    expect(await daemon.next((m) => m.requestId === 'limit')).toMatchObject({ requestId: 'limit' });

    const tooLarge = await count('relay_ws_frame_too_large_total');
    const worker = await join('worker', { managedExecutorId: 'm1' });
    const overClient = await join('client');
    // Over the limit in one frame, and over it only once the fragments add up.
    overClient.ws.send(padded(MAX_FRAME + 1));
    worker.ws.send('y'.repeat(3000), { fin: false });
    worker.ws.send('y'.repeat(3000), { fin: true });
    daemon.ws.send(Buffer.alloc(MAX_FRAME + 1, 0xff), { binary: true });
    for (const p of [overClient, worker, daemon]) expect((await p.closed).code).toBe(1009);
    expect(await count('relay_ws_frame_too_large_total')).toBe(tooLarge + 3);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    socketCases += 6;
    client.ws.close();
  });
});

/** rawUpgrade writes one hand-made request and resolves with the status line (or '' when the socket was dropped). */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', () => undefined); // a reset after the relay's answer is expected
  });
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const pathArb = fc.oneof(
  { arbitrary: fc.constant('/ws'), weight: 6 },
  fc.constantFrom('/ws/', '/WS', '/', '/health', '/ws?'),
  fc.string({ maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`),
);
const queryValue = fc.oneof(fc.constantFrom('client', 'workspace-daemon', 'worker', 'w1', 't1', ''), fc.string({ maxLength: 140 }));
// Mostly a well-formed role and workspace, so most requests reach the token and admission checks.
const queryArb = fc
  .tuple(
    fc.oneof({ arbitrary: fc.constantFrom('client', 'workspace-daemon', 'worker'), weight: 3 }, queryValue),
    fc.oneof({ arbitrary: fc.constant('w1'), weight: 3 }, queryValue),
    fc.array(fc.tuple(fc.constantFrom('role', 'workspaceId', 'runtimeTargetId', 'token', 'x'), queryValue), { maxLength: 3 }),
  )
  .map(([role, workspaceId, extra]) => new URLSearchParams([['role', role], ['workspaceId', workspaceId], ...extra]).toString());
const headerArb = fc.record(
  {
    authorization: fc.oneof(printable.map((s) => `Bearer ${s}`), printable, fc.constant(`Bearer ${'a'.repeat(5000)}`)),
    'sec-websocket-protocol': fc.array(printable.map((s) => s.replace(/,/g, '')), { maxLength: 4 }).map((l) => l.map((p, i) => (i % 2 ? `auth.${p}` : p)).join(', ')),
    'sec-websocket-key': printable,
    'sec-websocket-version': fc.constantFrom('13', '8', '7', 'x'),
    origin: printable,
    'x-forwarded-for': fc.array(fc.oneof(fc.ipV4(), printable.map((s) => s.replace(/,/g, ''))), { maxLength: 4 }).map((l) => l.join(', ')),
  },
  { requiredKeys: [] },
).map((h) => {
  // A fuzzed key or version only one time in four.
  const { 'sec-websocket-key': key, 'sec-websocket-version': version, ...rest } = h;
  return { ...rest, ...(key !== undefined && key.length % 4 === 0 ? { 'sec-websocket-key': key } : {}), ...(version !== undefined && version !== '13' && rest.origin?.length === 1 ? { 'sec-websocket-version': version } : {}) };
});

describe('upgrade and admin requests through real sockets', () => {
  it('every fuzzed upgrade is refused with a status (or dropped on a bad path) and each refusal is counted', async () => {
    const requests = fc.sample(fc.tuple(fc.constantFrom('GET', 'GET', 'POST'), pathArb, queryArb, headerArb), { numRuns: scaled(300, 3000), seed: SEED });
    const rejections = async () => {
      const metric = relay.relay.metrics.registry.getSingleMetric('relay_upgrade_rejections_total');
      const { values } = await (metric as NonNullable<typeof metric>).get();
      return values.reduce((n, v) => n + v.value, 0);
    };
    const before = await rejections();
    const admittedBefore = await count('relay_admission_ok_total');
    const statuses = new Map<string, number>();
    for (let i = 0; i < requests.length; i += 20) {
      const batch = requests.slice(i, i + 20).map(([method, path, query, headers]) => {
        const target = path.includes('?') ? `${path}${query}` : `${path}?${query}`;
        // Mostly well-formed handshakes, so most requests get as far as the query, token and admission checks.
        const all = { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', ...headers };
        const lines = [`${method} ${target} HTTP/1.1`, 'Host: relay.test', 'Connection: Upgrade', 'Upgrade: websocket', ...Object.entries(all).map(([k, v]) => `${k}: ${v}`)];
        return rawExchange(relay.port, `${lines.join('\r\n')}\r\n\r\n`);
      });
      for (const line of await Promise.all(batch)) statuses.set(line, (statuses.get(line) ?? 0) + 1);
    }
    socketCases += requests.length;
    for (const line of statuses.keys()) expect(line).toMatch(/^(HTTP\/1\.1 (400|401|403|405|429|503) [A-Za-z ]+|)$/);
    await waitFor(async () => (await rejections()) - before === requests.length, 10_000, 'every refusal counted');
    expect(await count('relay_admission_ok_total')).toBe(admittedBefore);
    report(`fuzzed upgrades: ${[...statuses].map(([l, n]) => `${l || 'dropped'} x${n}`).join(', ')}`);
  });

  it('every fuzzed admin request gets 200/400/401/404, never a 5xx, and each 401 is counted', async () => {
    const methods = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS');
    const paths = fc.oneof(fc.constantFrom('/health', '/ready', '/state', '/logs', '/metrics', '/metrics?x=1', '/state/', '//state', '/%2e%2e/state'), pathArb);
    const auth = fc.oneof(
      fc.constant(undefined),
      fc.constant(`Bearer ${ADMIN_TOKEN}`),
      fc.constant(`Bearer ${ADMIN_TOKEN.slice(0, -1)}x`),
      printable.map((s) => `Bearer ${s}`),
    );
    const requests = fc.sample(fc.tuple(methods, paths, auth, fc.option(printable, { nil: undefined })), { numRuns: scaled(300, 3000), seed: SEED });
    const before = await count('relay_admin_unauthorized_total');
    let unauthorized = 0;
    for (const [method, path, authorization, adminHeader] of requests) {
      const status = await new Promise<number>((resolve, reject) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined) headers.authorization = authorization;
        if (adminHeader !== undefined) headers['x-relay-admin-token'] = adminHeader;
        const req = request({ host: '127.0.0.1', port: relay.port, method, path, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      expect([200, 400, 401, 404]).toContain(status);
      if (status === 401) unauthorized += 1;
      socketCases += 1;
    }
    expect(unauthorized).toBeGreaterThan(0);
    expect(await count('relay_admin_unauthorized_total')).toBe(before + unauthorized);
  });
});
