// Issue 11, authentication attack matrix: every forged, stale, misdirected or
// oversized credential, and every platform/JWKS failure, against a live relay
// in each admission mode. Each is refused with its status and nothing is
// admitted: the admission counter does not move, no socket stays registered,
// and the probe frame an attacker sends on open reaches no daemon.
import { createHmac } from 'node:crypto';
import { createRemoteJWKSet, exportSPKI, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { JWKS_PATH, startFakeIssuer, VALIDATE_PATH, type FakeIssuer } from '../fake-issuer.js';
import { connectPeer, counterValue, peerUrl, startTestRelay, waitFor, type PeerOptions, type TestPeer, type TestRelay } from '../relay-harness.js';
import { kexInit } from '../frame-fixtures.js';
import { watchProcessFaults, type ProcessFaults } from './process-faults.js';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

const INTERNAL_KEY = 'auth-matrix-internal-key-0123456789';
type Mode = 'remote' | 'jwks' | 'jwks+remote';
const MODES: Mode[] = ['remote', 'jwks', 'jwks+remote'];

let platform: FakePlatform;
let issuer: FakeIssuer;
let publicPem: string;
let faults: ProcessFaults;
const relays = new Map<Mode, TestRelay>();
const guards: TestPeer[] = [];

const b64url = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

/** A strict platform: verifies like the real one (RS256 only, issuer, audience) and that the token matches the query's role and ids. */
function serveStrictValidate(p: FakePlatform, i: FakeIssuer): void {
  const keys = createRemoteJWKSet(new URL(i.jwksUrl));
  p.route('POST', VALIDATE_PATH, async (req) => {
    if (req.headers['x-relay-internal-key'] !== INTERNAL_KEY) return { status: 401, body: { ok: false, reason: 'BAD_INTERNAL_KEY' } };
    const body = JSON.parse(req.body) as Record<string, unknown>;
    try {
      const { payload } = await jwtVerify(String(body.relayToken), keys, { issuer: 'viewport-server', audience: 'viewport-relay', algorithms: ['RS256'] });
      const { sub: _sub, ...claims } = payload;
      if (claims.role !== undefined && claims.role !== body.role) return { status: 403, body: { ok: false, reason: 'ROLE_MISMATCH' } };
      return { body: { ok: true, claims } };
    } catch {
      return { status: 401, body: { ok: false, reason: 'INVALID_TOKEN' } };
    }
  });
}

function envFor(mode: Mode, p: FakePlatform, jwksUrl: string): Record<string, string> {
  const remote = { RELAY_VALIDATE_URL: `${p.url}${VALIDATE_PATH}`, RELAY_INTERNAL_KEY: INTERNAL_KEY };
  const jwks = { RELAY_JWKS_URL: jwksUrl };
  const common = { RELAY_ADMISSION_TIMEOUT_MS: '300', RELAY_UPGRADE_RATE_PER_MINUTE: '100000', RELAY_ADMISSION_MODE: mode };
  if (mode === 'remote') return { ...common, ...remote };
  if (mode === 'jwks') return { ...common, ...jwks };
  return { ...common, ...remote, ...jwks };
}

beforeAll(async () => {
  faults = watchProcessFaults();
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'RS256');
  serveStrictValidate(platform, issuer);
  const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: JWK[] };
  publicPem = await exportSPKI((await importJWK(jwks.keys[0] as JWK, 'RS256')) as CryptoKey);
  for (const mode of MODES) {
    const r = await startTestRelay(envFor(mode, platform, issuer.jwksUrl), { admission: { cooldownMs: 0 } });
    relays.set(mode, r);
    // A legitimate daemon in each scope an attacker aims at: it must never hear from them.
    for (const workspaceId of ['w1', 'w2']) {
      for (const runtimeTargetId of ['t1', 't2']) {
        const token = await issuer.mint({ role: 'workspace-daemon', workspaceId, runtimeTargetId });
        guards.push(await connectPeer(r.wsUrl, { role: 'workspace-daemon', workspaceId, runtimeTargetId, token }));
      }
    }
  }
});

afterAll(async () => {
  for (const g of guards) {
    // Nothing an attacker sent reached any daemon.
    expect(g.messages).toEqual([]);
    g.ws.close();
  }
  await Promise.all([...relays.values()].map((r) => r.close()));
  await platform.close();
  faults.stop();
  expect(faults.seen()).toEqual([]);
});

const client = (token: string, extra: Partial<PeerOptions> = {}): PeerOptions => ({ role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token, ...extra });
const clientClaims = { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', scope: 'runtime', clientId: 'attacker' };

interface Outcome {
  readonly status: number;
  readonly close?: { code: number; reason: string };
}

/** attempt upgrades, sends a probe frame at once if admitted, and reports the status and any close. */
function attempt(url: string, o: PeerOptions): Promise<Outcome> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  const ws = new WebSocket(peerUrl(url, o), o.protocols ?? [], { headers });
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', () => resolve({ status: 0 }));
    ws.once('open', () => {
      ws.send(JSON.stringify(kexInit('attack')));
      const timer = setTimeout(() => ws.close(), 2000);
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ status: 101, close: { code, reason: reason.toString() } });
      });
    });
  });
}

/** refusedWithNothingAdmitted runs an attempt and checks the relay kept nobody. */
async function expectRefused(mode: Mode, o: PeerOptions, expected: Outcome, url?: string): Promise<void> {
  const r = relays.get(mode) as TestRelay;
  const admittedBefore = await counterValue(r.relay, 'relay_admission_ok_total');
  const baseline = r.relay.state.connections;
  const outcome = await attempt(url ?? r.wsUrl, o);
  expect(outcome).toEqual(expected);
  if (expected.status !== 101) expect(await counterValue(r.relay, 'relay_admission_ok_total')).toBe(admittedBefore);
  await waitFor(() => r.relay.state.connections === baseline, 5000, 'no connection kept');
}

// Forged and misdirected credentials. Each row: the token (built per test) and the outcome in every mode.
const hs256WithPublicKey = () => {
  const header = b64url({ alg: 'HS256', typ: 'JWT', kid: 'whatever' });
  const payload = b64url({ ...clientClaims, iss: 'viewport-server', aud: 'viewport-relay', exp: nowS() + 600 });
  const sig = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${sig}`;
};
const algNone = () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...clientClaims, iss: 'viewport-server', aud: 'viewport-relay', exp: nowS() + 600 })}.`;
const swappedPayload = async () => {
  const [h, , s] = (await issuer.mint({ ...clientClaims, workspaceId: 'w2' })).split('.');
  return `${h}.${b64url({ ...clientClaims, iss: 'viewport-server', aud: 'viewport-relay', exp: nowS() + 600 })}.${s}`;
};
const closed4008 = (reason: string): Outcome => ({ status: 101, close: { code: 4008, reason } });

const forged: [string, () => Promise<string> | string, Partial<PeerOptions>, Outcome][] = [
  ['alg none', algNone, {}, { status: 401 }],
  ['HS256 signed with the RSA public key', hs256WithPublicKey, {}, { status: 401 }],
  ['a signature moved onto another payload', swappedPayload, {}, { status: 401 }],
  ['an unknown kid', () => issuer.mint(clientClaims, { unpublished: true }), {}, { status: 401 }],
  ['an expired token', () => issuer.mint(clientClaims, { expiresInSeconds: -120 }), {}, { status: 401 }],
  ['a token not yet valid', () => issuer.mint(clientClaims, { notBeforeSeconds: 600 }), {}, { status: 401 }],
  ['the wrong issuer', () => issuer.mint(clientClaims, { issuer: 'evil-issuer' }), {}, { status: 401 }],
  ['the wrong audience', () => issuer.mint(clientClaims, { audience: 'another-service' }), {}, { status: 401 }],
  ['a claim the schema does not know', () => issuer.mint({ ...clientClaims, admin: true }), {}, { status: 401 }],
  ['a token of another role (daemon token as client)', () => issuer.mint({ ...clientClaims, role: 'workspace-daemon' }), {}, { status: 403 }],
  ['a token of another workspace', () => issuer.mint({ ...clientClaims, workspaceId: 'w2' }), {}, closed4008('workspace claim mismatch')],
  ['a token of another runtime target', () => issuer.mint({ ...clientClaims, runtimeTargetId: 't2' }), {}, closed4008('runtime target claim mismatch')],
  ['a client token with a forged scope', () => issuer.mint({ ...clientClaims, scope: 'admin' }), {}, closed4008('invalid scope claim')],
  ['an oversized token (5000 characters)', () => `${'a'.repeat(2500)}.${'b'.repeat(2499)}`, {}, { status: 401 }],
  ['an oversized but validly signed token', () => issuer.mint({ ...clientClaims, userId: 'u', jti: 'j'.repeat(255), installId: 'i'.repeat(128), pad: 'p'.repeat(4200) }), {}, { status: 401 }],
];

describe.each(MODES)('admission mode %s', (mode) => {
  it('admits a valid token (control)', async () => {
    const r = relays.get(mode) as TestRelay;
    const p = await connectPeer(r.wsUrl, client(await issuer.mint(clientClaims)));
    expect(p.ws.readyState).toBe(WebSocket.OPEN);
    p.ws.close();
    await p.closed;
  });

  it.each(forged)('refuses %s', async (_name, token, extra, expected) => {
    await expectRefused(mode, client(await token(), extra), expected);
  });

  it('refuses a query token outside dev with 401, before any admission call', async () => {
    const staging = await startTestRelay({ ...envFor(mode, platform, issuer.jwksUrl), RELAY_MODE: 'staging' });
    try {
      const calls = platform.requests.length;
      const { token: _t, ...noHeader } = client('');
      expect(await attempt(staging.wsUrl, { ...noHeader, extraQuery: { token: await issuer.mint(clientClaims) } })).toEqual({ status: 401 });
      expect(platform.requests.length).toBe(calls);
      expect(await counterValue(staging.relay, 'relay_admission_ok_total')).toBe(0);
    } finally {
      await staging.close();
    }
  });
});

// Failures of the platform or the key set: refused with 503 (retryable), nobody admitted.
describe('platform and key-set failures', () => {
  const outages: [string, Mode[], (p: FakePlatform) => void][] = [
    ['JWKS endpoint down', ['jwks', 'jwks+remote'], (p) => p.route('GET', JWKS_PATH, () => ({ destroy: true }))],
    ['JWKS serving HTML', ['jwks', 'jwks+remote'], (p) => p.route('GET', JWKS_PATH, () => ({ body: '<html>oops</html>' }))],
    ['JWKS serving a malformed key set', ['jwks', 'jwks+remote'], (p) => p.route('GET', JWKS_PATH, () => ({ body: { keys: 'nope' } }))],
    ['JWKS answering 500', ['jwks', 'jwks+remote'], (p) => p.route('GET', JWKS_PATH, () => ({ status: 500, body: {} }))],
    ['JWKS too slow', ['jwks', 'jwks+remote'], (p) => p.route('GET', JWKS_PATH, () => ({ delayMs: 3000, body: { keys: [] } }))],
    ['validate too slow', ['remote', 'jwks+remote'], (p) => p.route('POST', VALIDATE_PATH, () => ({ delayMs: 3000, body: { ok: true, claims: clientClaims } }))],
    ['validate answering 500', ['remote', 'jwks+remote'], (p) => p.route('POST', VALIDATE_PATH, () => ({ status: 500, body: 'boom' }))],
    ['validate sending a huge response', ['remote', 'jwks+remote'], (p) => p.route('POST', VALIDATE_PATH, () => ({ body: { ok: true, claims: clientClaims, pad: 'x'.repeat(1 << 20) } }))],
    ['validate resetting the connection', ['remote', 'jwks+remote'], (p) => p.route('POST', VALIDATE_PATH, () => ({ destroy: true }))],
    ['validate answering 200 with non-JSON', ['remote', 'jwks+remote'], (p) => p.route('POST', VALIDATE_PATH, () => ({ body: '<html>' }))],
  ];
  const rows = outages.flatMap(([name, modes, install]) => modes.map((m) => [name, m, install] as const));

  it.each(rows)('%s (%s): 503, nothing admitted', async (_name, mode, install) => {
    // A platform of its own: the JWKS is copied from the real issuer, then the failure is installed.
    const broken = await startFakePlatform();
    const keys = (await (await fetch(issuer.jwksUrl)).json()) as unknown;
    broken.route('GET', JWKS_PATH, () => ({ body: keys as object }));
    serveStrictValidate(broken, issuer);
    install(broken);
    const r = await startTestRelay(envFor(mode, broken, `${broken.url}${JWKS_PATH}`), { admission: { cooldownMs: 0 } });
    try {
      const before = await counterValue(r.relay, 'relay_admission_ok_total');
      expect(await attempt(r.wsUrl, client(await issuer.mint(clientClaims)))).toEqual({ status: 503 });
      expect(await counterValue(r.relay, 'relay_admission_ok_total')).toBe(before);
      await waitFor(() => r.relay.state.connections === 0, 5000, 'no connection kept');
    } finally {
      await r.close();
      await broken.close();
    }
  });
});

// Issue 22, item 8: a token without a `role` claim names no role. Before, it
// was admitted as whatever role the query asked for, a workspace daemon
// included; now every mode refuses it with 401 and the logged reason says why.
describe.each(MODES)('a token without a role claim, admission mode %s', (mode) => {
  const roleless: [PeerOptions['role'], Record<string, unknown>][] = [
    ['workspace-daemon', { workspaceId: 'w1', runtimeTargetId: 't1' }],
    ['client', { workspaceId: 'w1', runtimeTargetId: 't1', scope: 'runtime', clientId: 'attacker' }],
    ['worker', { workspaceId: 'w1', managedExecutorId: 'm1' }],
  ];

  it.each(roleless)('is refused as %s with 401 MISSING_ROLE_CLAIM', async (role, claims) => {
    const r = relays.get(mode) as TestRelay;
    const logged = r.logLines.length;
    const target = role === 'worker' ? {} : { runtimeTargetId: 't1' };
    await expectRefused(mode, { role, workspaceId: 'w1', ...target, token: await issuer.mint(claims) }, { status: 401 });
    expect(r.logLines.slice(logged).filter((l) => l.includes('"admission_denied"') && l.includes('MISSING_ROLE_CLAIM'))).toHaveLength(1);
  });
});
