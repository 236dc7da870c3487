// Issue 5 end to end: several real relay processes sharing a real redis-server
// or the fake platform's bus, with real ws daemons and clients.
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackplane, type Backplane, type BackplaneOptions } from '../../src/backplane/index.js';
import { signBusFrame } from '../../src/backplane/bus-signing.js';
import { devClaims, type DevTokenRequest } from '../../src/devissuer/issuer.js';
import { startFakeIssuer, type FakeIssuer } from '../fake-issuer.js';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { installPlatformBus, type FakePlatformBus } from '../fake-platform-bus.js';
import { e2ee, kexInit, kexResponse } from '../frame-fixtures.js';
import { closeAll, connectPeer, type TestPeer } from '../relay-harness.js';
import { startRedisServer, type TestRedisServer } from '../redis-server.js';
import { startRelayProcess, type RelayProcess } from './relay-process.js';

const INTERNAL_KEY = 'multi-relay-internal-key-0123456789';
const HMAC_KEY = 'multi-relay-bus-hmac-key-0123456789';
const PRESENCE_TTL_MS = 2000;

let platform: FakePlatform;
let issuer: FakeIssuer;
let bus: FakePlatformBus;
let redis: TestRedisServer;
const relays: RelayProcess[] = [];
const peers: TestPeer[] = [];
const observers: Backplane[] = [];
let testNo = 0;
let prefix = '';

beforeAll(async () => {
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'ES256');
  bus = installPlatformBus(platform, { internalKey: INTERNAL_KEY, presenceTtlMs: PRESENCE_TTL_MS });
  redis = await startRedisServer();
});
afterEach(async () => {
  await closeAll(peers.splice(0).filter((p) => p.ws.readyState === p.ws.OPEN));
  await Promise.all(observers.splice(0).map((o) => o.close()));
  await Promise.all(relays.splice(0).map((r) => r.kill()));
});
afterAll(async () => {
  bus.close();
  await platform.close();
  await redis.close();
});

type Mode = 'redis' | 'server';

function relayEnv(mode: Mode, extra: Record<string, string> = {}): Record<string, string> {
  return {
    RELAY_BACKPLANE_MODE: mode,
    RELAY_INTERNAL_KEY: INTERNAL_KEY,
    RELAY_BUS_HMAC_KEY: HMAC_KEY,
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    SERVER_URL: platform.url,
    RELAY_REDIS_URL: redis.url,
    RELAY_REDIS_KEY_PREFIX: prefix,
    RELAY_REDIS_PRESENCE_TTL_MS: String(PRESENCE_TTL_MS),
    RELAY_PRESENCE_SYNC_INTERVAL_MS: '400',
    RELAY_BUS_POLL_INTERVAL_MS: '50',
    RELAY_CLIENT_REDIRECT_ENABLED: '0',
    RELAY_MAX_CONNECTIONS_PER_IP: '1000',
    RELAY_UPGRADE_RATE_PER_MINUTE: '100000',
    ...extra,
  };
}

async function startRelays(mode: Mode, ids: string[], extra: Record<string, string> = {}, publicUrl?: string): Promise<RelayProcess[]> {
  const started = await Promise.all(ids.map((id) => startRelayProcess(`${id}-${testNo}`, relayEnv(mode, extra), publicUrl)));
  relays.push(...started);
  return started;
}

/** observer is an in-test backplane on the same store, used to wait for presence. */
async function observer(mode: Mode): Promise<Backplane> {
  const options: BackplaneOptions = {
    mode,
    relayId: `observer-${testNo}`,
    relayWsBaseUrl: 'ws://observer.test/ws',
    busHmacKey: HMAC_KEY,
    busSignatureMaxSkewMs: 15_000,
    busFreshnessTrackMax: 100,
    maxFrameBytes: 1 << 20,
    presenceTtlMs: PRESENCE_TTL_MS,
    presenceResolveCacheMax: 10,
    presenceResolveCacheTtlMs: 0,
    redis: { url: redis.url, keyPrefix: prefix, connectTimeoutMs: 2000, queueMax: 1000 },
    server: {
      baseUrl: platform.url,
      internalKey: INTERNAL_KEY,
      timeoutMs: 2000,
      maxResponseBytes: 1 << 20,
      pullLimit: 10,
      pullWaitMs: 500,
      pollIntervalMs: 100,
    },
  };
  const o = createBackplane(options, { registry: new Registry(), log: () => {}, now: Date.now });
  await o.start(() => {});
  observers.push(o);
  return o;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function waitPresence(o: Backplane, workspaceId: string, runtimeTargetId: string, relayId: string | null): Promise<void> {
  await waitFor(async () => ((await o.resolvePresence({ workspaceId, runtimeTargetId }))?.relayId ?? null) === relayId, `presence ${relayId}`);
}

async function peer(relay: RelayProcess | string, req: DevTokenRequest & { clientId?: string }): Promise<TestPeer> {
  const token = await issuer.mint(devClaims(req));
  const p = await connectPeer(typeof relay === 'string' ? relay : relay.wsUrl, {
    role: req.role,
    workspaceId: req.workspaceId,
    ...(req.runtimeTargetId !== undefined ? { runtimeTargetId: req.runtimeTargetId } : {}),
    token,
  });
  peers.push(p);
  return p;
}

const daemonOn = (r: RelayProcess, workspaceId: string, runtimeTargetId = 't1') => peer(r, { role: 'workspace-daemon', workspaceId, runtimeTargetId });
const clientOn = (r: RelayProcess | string, workspaceId: string, runtimeTargetId = 't1') => peer(r, { role: 'client', workspaceId, runtimeTargetId });

/** roundTrip runs a key exchange and one e2ee frame each way between client and daemon. */
async function roundTrip(client: TestPeer, daemon: TestPeer, tag: string): Promise<void> {
  client.send(kexInit(`req-${tag}`));
  await daemon.next((m) => m.requestId === `req-${tag}`);
  daemon.send(kexResponse(`req-${tag}`, `s-${tag}`));
  await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === `s-${tag}`);
  const upstream = JSON.stringify(e2ee(`s-${tag}`, { seq: 2 })).replace('{', '{ ');
  client.send(upstream);
  await daemon.next((m) => m.type === 'e2ee' && m.sessionId === `s-${tag}`);
  expect(daemon.messages).toContain(upstream); // forwarded byte for byte across relays
  daemon.send(e2ee(`s-${tag}`, { seq: 3 }));
  expect(await client.next((m) => m.type === 'e2ee' && m.sessionId === `s-${tag}`)).toMatchObject({ seq: 3 });
}

beforeEach(() => {
  // A fresh key prefix and relay ids per test keep state apart without restarting Redis.
  testNo += 1;
  prefix = `mr${testNo}`;
});

describe.each<Mode>(['redis', 'server'])('multi-relay (%s backplane)', (mode) => {
  it('carries a full round trip between a daemon on relay A and a client on relay B', async () => {
    const [a, b] = await startRelays(mode, ['a', 'b']);
    const o = await observer(mode);
    const ws = `w-rt-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const client = await clientOn(b!, ws);
    await roundTrip(client, daemon, `rt${testNo}`);
    expect(await b!.metric('relay_client_messages_routed_bus_total')).toBeGreaterThanOrEqual(2);
  });
});
