// Issue 2: the upgrade path. Every rejection with its exact status, every
// admission mode against a fake platform (validate + JWKS), claim cross-checks.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakePlatform, type FakePlatform } from './fake-platform.js';
import { startFakeIssuer, VALIDATE_PATH, type FakeIssuer } from './fake-issuer.js';
import { closeAll, connectPeer, counterValue, startTestRelay, upgradeStatus, type PeerOptions, type TestRelay } from './relay-harness.js';

let platform: FakePlatform;
let issuer: FakeIssuer;
const relays: TestRelay[] = [];
const INTERNAL_KEY = 'internal-key-for-tests';

beforeAll(async () => {
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'RS256');
  issuer.serveValidate({ internalKey: INTERNAL_KEY });
});
afterAll(async () => platform.close());
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function relayWith(env: Record<string, string>): Promise<TestRelay> {
  const r = await startTestRelay(env);
  relays.push(r);
  return r;
}
const remoteEnv = () => ({ RELAY_VALIDATE_URL: `${platform.url}${VALIDATE_PATH}`, RELAY_INTERNAL_KEY: INTERNAL_KEY });
const jwksEnv = () => ({ RELAY_JWKS_URL: issuer.jwksUrl, RELAY_ADMISSION_MODE: 'jwks' });

const daemonClaims = { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' };
const clientClaims = { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', scope: 'runtime', clientId: 'c1' };
const asDaemon = (token: string): PeerOptions => ({ role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1', token });
const asClient = (token: string, extra: Partial<PeerOptions> = {}): PeerOptions => ({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token, ...extra });

/** rawUpgrade sends a hand-written request and returns the exact bytes the relay answered with. */
function rawUpgrade(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const upgradeRequest = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

describe('upgrade rejections', () => {
  it('answers with a bare status line and no headers or body', async () => {
    const r = await relayWith(remoteEnv());
    expect(await rawUpgrade(r.port, upgradeRequest('/ws?role=client&workspaceId=w1'))).toBe('HTTP/1.1 401 Unauthorized\r\n\r\n');
    expect(await rawUpgrade(r.port, upgradeRequest('/ws?role=nope&workspaceId=w1'))).toBe('HTTP/1.1 400 Bad Request\r\n\r\n');
    expect(await rawUpgrade(r.port, upgradeRequest('/ws?role=client&workspaceId=w1', {}, 'POST'))).toBe('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
    expect(await rawUpgrade(r.port, upgradeRequest('/elsewhere?role=client&workspaceId=w1'))).toBe('');
  });

  it.each([
    ['missing role', { role: undefined }],
    ['bad workspace characters', { workspaceId: 'w 1' }],
    ['workspace too long', { workspaceId: 'w'.repeat(129) }],
    ['empty runtime target', { runtimeTargetId: '' }],
  ])('400 for an invalid query: %s', async (_name, patch) => {
    const r = await relayWith(remoteEnv());
    const token = await issuer.mint(clientClaims);
    const o = { ...asClient(token), ...patch } as PeerOptions;
    const url = new URL(r.wsUrl);
    if (o.role !== undefined) url.searchParams.set('role', o.role);
    url.searchParams.set('workspaceId', o.workspaceId);
    if (o.runtimeTargetId !== undefined) url.searchParams.set('runtimeTargetId', o.runtimeTargetId);
    const res = await rawUpgrade(r.port, upgradeRequest(`${url.pathname}${url.search}`, { Authorization: `Bearer ${token}` }));
    expect(res).toBe('HTTP/1.1 400 Bad Request\r\n\r\n');
  });

  it('401 without a token, for a too-short token, and for a query token outside dev', async () => {
    const dev = await relayWith(remoteEnv());
    expect(await upgradeStatus(dev.wsUrl, asClient('short'))).toBe(401);
    const { token: _t, ...noToken } = asClient('x');
    expect(await upgradeStatus(dev.wsUrl, noToken)).toBe(401);
    const staging = await relayWith({ ...remoteEnv(), RELAY_MODE: 'staging' });
    const token = await issuer.mint(clientClaims);
    expect(await upgradeStatus(staging.wsUrl, { ...noToken, extraQuery: { token } })).toBe(401);
    // dev accepts the query token
    expect(await upgradeStatus(dev.wsUrl, { ...noToken, extraQuery: { token } })).toBe(101);
  });

  it('429 past the per-IP upgrade rate', async () => {
    const r = await relayWith({ ...remoteEnv(), RELAY_UPGRADE_RATE_PER_MINUTE: '2' });
    expect(await upgradeStatus(r.wsUrl, asClient('short'))).toBe(401);
    expect(await upgradeStatus(r.wsUrl, asClient('short'))).toBe(401);
    expect(await upgradeStatus(r.wsUrl, asClient('short'))).toBe(429);
  });

  it('503 at the total cap (workers count too), 429 at the per-IP cap', async () => {
    const total = await relayWith({ ...remoteEnv(), RELAY_MAX_TOTAL_CONNECTIONS: '1' });
    const worker = await connectPeer(total.wsUrl, { role: 'worker', workspaceId: 'w1', token: await issuer.mint({ role: 'worker', workspaceId: 'w1', managedExecutorId: 'm1' }) });
    expect(await upgradeStatus(total.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
    const perIp = await relayWith({ ...remoteEnv(), RELAY_MAX_CONNECTIONS_PER_IP: '1' });
    const d = await connectPeer(perIp.wsUrl, asDaemon(await issuer.mint(daemonClaims)));
    expect(await upgradeStatus(perIp.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(429);
    await closeAll([worker, d]);
  });

  it('429 when the claim-resolved scope is full, and the cap is per scope (docs/protocol.md#weak-client-cap)', async () => {
    const r = await relayWith({ ...remoteEnv(), RELAY_MAX_CLIENTS_PER_WORKSPACE: '1' });
    const first = await connectPeer(r.wsUrl, asClient(await issuer.mint(clientClaims)));
    expect(await upgradeStatus(r.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(429);
    // The query names no target; the claim resolves to the same full scope.
    expect(await upgradeStatus(r.wsUrl, { role: 'client', workspaceId: 'w1', token: await issuer.mint(clientClaims) })).toBe(429);
    const other = await connectPeer(r.wsUrl, { ...asClient(await issuer.mint({ ...clientClaims, runtimeTargetId: 't2' })), runtimeTargetId: 't2' });
    // A refused attempt never created a scope.
    expect(r.relay.state.scopes).toBe(2);
    await closeAll([first, other]);
  });
});

describe('remote admission', () => {
  it('admits with the internal key and the query ids in the body', async () => {
    const r = await relayWith(remoteEnv());
    const before = platform.requests.length;
    const token = await issuer.mint(daemonClaims);
    const p = await connectPeer(r.wsUrl, asDaemon(token));
    const call = platform.requests.slice(before).find((q) => q.path === VALIDATE_PATH);
    expect(call?.headers['x-relay-internal-key']).toBe(INTERNAL_KEY);
    expect(JSON.parse(call?.body ?? '{}')).toEqual({ relayToken: token, role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' });
    await closeAll([p]);
  });

  it('401 on denial, 403 for a token of another role, 503 when the platform is down or slow', async () => {
    const r = await relayWith({ ...remoteEnv(), RELAY_ADMISSION_TIMEOUT_MS: '200' });
    expect(await upgradeStatus(r.wsUrl, asClient('not-a-valid-token'))).toBe(401);
    expect(await upgradeStatus(r.wsUrl, asClient(await issuer.mint({ ...clientClaims, role: 'worker' })))).toBe(403);
    const badClaims = await issuer.mint({ ...clientClaims, surprise: 1 });
    expect(await upgradeStatus(r.wsUrl, asClient(badClaims))).toBe(401);
    const slow = await relayWith({ RELAY_VALIDATE_URL: `${platform.url}/slow`, RELAY_ADMISSION_TIMEOUT_MS: '100' });
    platform.route('POST', '/slow', () => ({ delayMs: 1000, body: { ok: true, claims: clientClaims } }));
    expect(await upgradeStatus(slow.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
    const broken = await relayWith({ RELAY_VALIDATE_URL: `${platform.url}/broken` });
    platform.route('POST', '/broken', () => ({ status: 500, body: 'oops' }));
    expect(await upgradeStatus(broken.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
    const crash = await relayWith({ RELAY_VALIDATE_URL: `${platform.url}/crash` });
    platform.route('POST', '/crash', () => ({ destroy: true }));
    expect(await upgradeStatus(crash.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
    const huge = await relayWith({ RELAY_VALIDATE_URL: `${platform.url}/huge`, RELAY_ADMISSION_MAX_RESPONSE_BYTES: '100' });
    platform.route('POST', '/huge', () => ({ body: { ok: true, claims: clientClaims, pad: 'x'.repeat(500) } }));
    expect(await upgradeStatus(huge.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
    const down = await relayWith({ RELAY_VALIDATE_URL: 'http://127.0.0.1:9/validate' });
    expect(await upgradeStatus(down.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(503);
  });
});

describe('admission cache (R-ADM-4)', () => {
  const validateCalls = (since: number) => platform.requests.slice(since).filter((q) => q.path === VALIDATE_PATH).length;

  it('reuses a positive admission for the same token and scope, never a denial, and is off by default', async () => {
    const cached = await relayWith({ ...remoteEnv(), RELAY_ADMISSION_CACHE_TTL_MS: '60000' });
    const token = await issuer.mint(clientClaims);
    const before = platform.requests.length;
    const peers = [await connectPeer(cached.wsUrl, asClient(token)), await connectPeer(cached.wsUrl, asClient(token)), await connectPeer(cached.wsUrl, asClient(token))];
    expect(validateCalls(before)).toBe(1);
    expect(await counterValue(cached.relay, 'relay_admission_cache_hits_total')).toBe(2);
    // The same token presented for another scope is a fresh platform decision, not a cache hit.
    await upgradeStatus(cached.wsUrl, { ...asClient(token), runtimeTargetId: 't2' });
    expect(validateCalls(before)).toBe(2);
    expect(await counterValue(cached.relay, 'relay_admission_cache_hits_total')).toBe(2);
    const deniedBefore = platform.requests.length;
    expect(await upgradeStatus(cached.wsUrl, asClient('not-a-valid-token'))).toBe(401);
    expect(await upgradeStatus(cached.wsUrl, asClient('not-a-valid-token'))).toBe(401);
    expect(validateCalls(deniedBefore)).toBe(2);
    await closeAll(peers);

    const uncached = await relayWith(remoteEnv());
    const plainBefore = platform.requests.length;
    await closeAll([await connectPeer(uncached.wsUrl, asClient(token)), await connectPeer(uncached.wsUrl, asClient(token))]);
    expect(validateCalls(plainBefore)).toBe(2);
  });
});

describe('jwks admission', () => {
  it.each(['RS256', 'ES256'] as const)('admits a valid %s token without calling the platform', async (alg) => {
    const p2 = await startFakePlatform();
    const iss = await startFakeIssuer(p2, alg);
    const r = await relayWith({ RELAY_JWKS_URL: iss.jwksUrl });
    expect(r.config.admission.mode).toBe('jwks');
    const peer = await connectPeer(r.wsUrl, asDaemon(await iss.mint(daemonClaims)));
    expect(p2.requests.every((q) => q.method === 'GET')).toBe(true);
    await closeAll([peer]);
    await p2.close();
  });

  it.each([
    ['expired', { expiresInSeconds: -120 }],
    ['not yet valid', { notBeforeSeconds: 600 }],
    ['wrong audience', { audience: 'someone-else' }],
    ['wrong issuer', { issuer: 'evil' }],
    ['unknown key', { unpublished: true }],
  ])('401 for a %s token', async (_name, options) => {
    const r = await relayWith(jwksEnv());
    expect(await upgradeStatus(r.wsUrl, asDaemon(await issuer.mint(daemonClaims, options)))).toBe(401);
  });

  it('401 for an algorithm outside the allow-list, 503 when the JWKS cannot be fetched', async () => {
    const r = await relayWith({ ...jwksEnv(), RELAY_JWT_ALGORITHMS: 'ES256' });
    expect(await upgradeStatus(r.wsUrl, asDaemon(await issuer.mint(daemonClaims)))).toBe(401);
    const down = await relayWith({ RELAY_JWKS_URL: 'http://127.0.0.1:9/jwks.json', RELAY_ADMISSION_MODE: 'jwks' });
    expect(await upgradeStatus(down.wsUrl, asDaemon(await issuer.mint(daemonClaims)))).toBe(503);
  });

  it('follows a key rotation without a restart', async () => {
    const p2 = await startFakePlatform();
    const iss = await startFakeIssuer(p2, 'ES256');
    const r = await startTestRelay({ RELAY_JWKS_URL: iss.jwksUrl }, { admission: { cooldownMs: 0 } });
    relays.push(r);
    expect(await upgradeStatus(r.wsUrl, asDaemon(await iss.mint(daemonClaims)))).toBe(101);
    await iss.rotate({ dropOld: true });
    expect(await upgradeStatus(r.wsUrl, asDaemon(await iss.mint(daemonClaims)))).toBe(101);
    await p2.close();
  });
});

describe('jwks+remote admission', () => {
  it('checks locally first: a bad token never reaches the platform', async () => {
    const r = await relayWith({ ...remoteEnv(), RELAY_JWKS_URL: issuer.jwksUrl });
    expect(r.config.admission.mode).toBe('jwks+remote');
    const count = () => platform.requests.filter((q) => q.path === VALIDATE_PATH).length;
    const before = count();
    expect(await upgradeStatus(r.wsUrl, asClient(await issuer.mint(clientClaims, { unpublished: true })))).toBe(401);
    expect(count()).toBe(before);
    expect(await upgradeStatus(r.wsUrl, asClient(await issuer.mint(clientClaims)))).toBe(101);
    expect(count()).toBe(before + 1);
  });
});

describe('subprotocol and claim cross-check', () => {
  it('echoes a non-auth subprotocol when one is offered, else the auth entry (docs/protocol.md#weak-subprotocol-echo)', async () => {
    const r = await relayWith(remoteEnv());
    const token = await issuer.mint(clientClaims);
    const a = await connectPeer(r.wsUrl, asClient(token, { viaSubprotocol: true, protocols: ['viewport.v1'] }));
    expect(a.ws.protocol).toBe('viewport.v1');
    const b = await connectPeer(r.wsUrl, asClient(token, { viaSubprotocol: true }));
    expect(b.ws.protocol).toBe(`auth.${token}`);
    await closeAll([a, b]);
  });

  it.each([
    ['workspace claim mismatch', { ...clientClaims, workspaceId: 'w2' }, {}],
    ['runtime target claim mismatch', { ...clientClaims, runtimeTargetId: 't9' }, {}],
    ['invalid scope claim', { ...clientClaims, scope: 'admin' }, {}],
  ])('closes 4008 %s', async (reason, claims, _x) => {
    const r = await relayWith(remoteEnv());
    const p = await connectPeer(r.wsUrl, asClient(await issuer.mint(claims)));
    expect(await p.closed).toEqual({ code: 4008, reason });
  });

  it('sends RUNTIME_TARGET_REQUIRED before closing a target-less runtime or pairing client (docs/protocol.md#weak-pairing-target)', async () => {
    const r = await relayWith(remoteEnv());
    for (const scope of ['runtime', 'pairing', 'session-events']) {
      const { runtimeTargetId: _t, ...claims } = { ...clientClaims, scope };
      const p = await connectPeer(r.wsUrl, { role: 'client', workspaceId: 'w1', token: await issuer.mint(claims) });
      expect(await p.closed).toEqual({ code: 4008, reason: 'missing runtime target claim' });
      expect(JSON.parse(p.messages[0] ?? '{}')).toMatchObject({ type: 'relay_status', code: 'RUNTIME_TARGET_REQUIRED', retryable: false });
    }
  });
});
