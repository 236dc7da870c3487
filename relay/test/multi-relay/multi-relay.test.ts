// Issue 5 end to end: several real relay processes sharing a real redis-server
// or the fake platform's bus, with real ws daemons and clients.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBackplane, type Backplane, type BackplaneOptions } from '../../src/backplane/index.js';
import { signBusFrame } from '../../src/backplane/bus-signing.js';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import { parseEntry } from '../../src/backplane/redis/stream-entry.js';
import { devClaims, type DevTokenRequest } from '../../src/devissuer/issuer.js';
import { startFakeIssuer, type FakeIssuer } from '../fake-issuer.js';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { installPlatformBus, type FakePlatformBus } from '../fake-platform-bus.js';
import { e2ee, kexInit, kexResponse, pairingOffer, pairingOfferResponse } from '../frame-fixtures.js';
import { closeAll, connectPeer, type TestPeer } from '../relay-harness.js';
import { startRedisServer, type TestRedisServer } from '../redis-server.js';
import { relayExit, startRelayProcess, type RelayProcess } from './relay-process.js';
import { waitFor } from '../backplane/wait-for.js';
import { silentLogger } from '@viewport/log';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

const INTERNAL_KEY = 'multi-relay-internal-key-0123456789';
const HMAC_KEY = 'multi-relay-bus-hmac-key-0123456789';
const REDIS_PASSWORD = 'multi-relay-redis-password';
const PRESENCE_TTL_MS = 2000;
/** Per-message wait: generous, since CI machines are shared; a pass never waits this long. */
const SLOW = 30_000;

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
  redis = await startRedisServer({ password: REDIS_PASSWORD });
});
afterEach(async () => {
  await closeAll(peers.splice(0).filter((p) => p.ws.readyState === p.ws.OPEN));
  await Promise.all(observers.splice(0).map((o) => o.close()));
  const stopped = relays.splice(0);
  await Promise.all(stopped.map((r) => r.kill()));
  // Whatever happened in the test, no secret may reach a relay's output.
  for (const r of stopped) for (const secret of [INTERNAL_KEY, HMAC_KEY, REDIS_PASSWORD]) expect(r.output()).not.toContain(secret);
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
  const o = createBackplane(options, { registry: new Registry(), log: silentLogger, now: Date.now });
  await o.start(() => {});
  observers.push(o);
  return o;
}


async function waitPresence(o: Backplane, workspaceId: string, runtimeTargetId: string, relayId: string | null): Promise<void> {
  const holder = async () => {
    const record = await o.resolvePresence({ workspaceId, runtimeTargetId });
    return record?.daemonConnected ? record.relayId : null;
  };
  await waitFor(async () => (await holder()) === relayId, `presence ${relayId}`);
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
  await daemon.next((m) => m.requestId === `req-${tag}`, SLOW);
  daemon.send(kexResponse(`req-${tag}`, `s-${tag}`));
  await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === `s-${tag}`, SLOW);
  const upstream = JSON.stringify(e2ee(`s-${tag}`, { seq: 2 })).replace('{', '{ ');
  client.send(upstream);
  await daemon.next((m) => m.type === 'e2ee' && m.sessionId === `s-${tag}`, SLOW);
  expect(daemon.messages).toContain(upstream); // forwarded byte for byte across relays
  daemon.send(e2ee(`s-${tag}`, { seq: 3 }));
  expect(await client.next((m) => m.type === 'e2ee' && m.sessionId === `s-${tag}`, SLOW)).toMatchObject({ seq: 3 });
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
    // Counted once the frames are settled: in redis mode when A reports it has read them (docs/backplane.md#liveness).
    await waitFor(async () => (await b!.metric('relay_client_messages_routed_bus_total')) >= 2, 'the routed frames counted');
  });

  it('carries pairing across relays to the requesting pairing client only', async () => {
    const [a, b, c] = await startRelays(mode, ['a', 'b', 'c']);
    const o = await observer(mode);
    const ws = `w-pair-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const pairing = await peer(b!, { role: 'client', workspaceId: ws, runtimeTargetId: 't1', scope: 'pairing' });
    const bystander = await peer(c!, { role: 'client', workspaceId: ws, runtimeTargetId: 't1', scope: 'pairing' });
    pairing.send(pairingOffer(`pair-${testNo}`));
    await daemon.next((m) => m.requestId === `pair-${testNo}`, SLOW);
    daemon.send(pairingOfferResponse(`pair-${testNo}`));
    expect(await pairing.next((m) => m.type === 'relay_pairing_offer_response', SLOW)).toMatchObject({ requestId: `pair-${testNo}` });
    // The bystander's own exchange completes after, so anything misrouted to it would already be there.
    bystander.send(pairingOffer(`other-${testNo}`));
    await daemon.next((m) => m.requestId === `other-${testNo}`, SLOW);
    daemon.send(pairingOfferResponse(`other-${testNo}`));
    await bystander.next((m) => m.requestId === `other-${testNo}`, SLOW);
    expect(bystander.messages.filter((m) => m.includes(`pair-${testNo}`))).toEqual([]);
  });

  it('redirects a client to the daemon’s relay, never to its own URL, and the session continues after the move', async () => {
    const [a, b] = await startRelays(mode, ['a', 'b'], { RELAY_CLIENT_REDIRECT_ENABLED: '1' });
    const o = await observer(mode);
    const ws = `w-redirect-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const onB = await clientOn(b!, ws);
    const redirect = await onB.next((m) => m.code === 'RELAY_REDIRECT');
    expect(redirect).toMatchObject({ type: 'relay_status', workspaceId: ws, relayWsBaseUrl: a!.wsUrl });
    // Frames keep flowing over the bus while the client has not moved yet.
    await roundTrip(onB, daemon, `before-move-${testNo}`);
    const moved = await clientOn(redirect.relayWsBaseUrl as string, ws);
    await roundTrip(moved, daemon, `after-move-${testNo}`);
    expect(moved.messages.some((m) => m.includes('RELAY_REDIRECT'))).toBe(false);
  });

  it('never redirects to the URL a client is already on (relays behind one shared URL)', async () => {
    const shared = 'ws://relays.shared.test/ws';
    const a = (await Promise.all([startRelayProcess(`a-${testNo}`, relayEnv(mode, { RELAY_CLIENT_REDIRECT_ENABLED: '1' }), shared)]))[0]!;
    const b = await startRelayProcess(`b-${testNo}`, relayEnv(mode, { RELAY_CLIENT_REDIRECT_ENABLED: '1' }), shared);
    relays.push(a, b);
    const o = await observer(mode);
    const ws = `w-shared-${testNo}`;
    const daemon = await daemonOn(a, ws);
    await waitPresence(o, ws, 't1', a.id);
    const client = await clientOn(b, ws);
    await roundTrip(client, daemon, `shared-${testNo}`);
    expect(client.messages.some((m) => m.includes('RELAY_REDIRECT'))).toBe(false);
  });

  it('keeps a newer relay’s presence when the daemon’s old relay lets go (compare-and-delete)', async () => {
    const [a, b, c] = await startRelays(mode, ['a', 'b', 'c']);
    const o = await observer(mode);
    const ws = `w-cad-${testNo}`;
    const oldDaemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const newDaemon = await daemonOn(c!, ws);
    await waitPresence(o, ws, 't1', c!.id);
    oldDaemon.ws.close();
    await oldDaemon.closed;
    const client = await clientOn(b!, ws);
    await roundTrip(client, newDaemon, `cad-${testNo}`);
    expect((await o.resolvePresence({ workspaceId: ws, runtimeTargetId: 't1' }))?.relayId).toBe(c!.id);
  });

  it('drops forged and replayed bus frames, counting them, without touching peers', async () => {
    const [a, b] = await startRelays(mode, ['a', 'b']);
    const o = await observer(mode);
    const ws = `w-forge-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const client = await clientOn(b!, ws);
    const tag = `forge-${testNo}`;
    const capture = await captureFrames(mode, b!.id);
    await roundTrip(client, daemon, tag);
    await waitFor(() => capture.frames().some((f) => f.payload.includes('"seq":3')), 'the reply seen on the bus');
    capture.stop();
    const reply = capture.frames().find((f) => f.payload.includes('"seq":3'));
    expect(reply).toBeDefined();
    await inject(mode, b!.id, reply!);
    await inject(mode, b!.id, signBusFrame({ ...reply!, payload: JSON.stringify(e2ee(`s-${tag}`, { seq: 99 })) }, 'forged-key', Date.now()));
    await waitFor(async () => (await b!.metric('relay_bus_pull_replayed_signature_total')) === 1, 'replay counted');
    await waitFor(async () => (await b!.metric('relay_bus_pull_invalid_signature_total')) === 1, 'forgery counted');
    // One more real frame after the bad ones: when it arrives, the bad ones were already judged.
    daemon.send(e2ee(`s-${tag}`, { seq: 4 }));
    await client.next((m) => m.type === 'e2ee' && m.seq === 4);
    const seqs = client.messages.map((m) => JSON.parse(m) as { type?: string; seq?: number }).filter((m) => m.type === 'e2ee').map((m) => m.seq);
    expect(seqs).toEqual([3, 4]);
  });

  it('refuses a stale daemon generation on a relay that never saw the scope (generation kept in the backplane)', async () => {
    const [a, b] = await startRelays(mode, ['a', 'b']);
    const o = await observer(mode);
    const ws = `w-gen-${testNo}`;
    const first = await peer(a!, { role: 'workspace-daemon', workspaceId: ws, runtimeTargetId: 't1', daemonIssueGeneration: 5 });
    await waitPresence(o, ws, 't1', a!.id);
    first.ws.close();
    await first.closed;
    await waitPresence(o, ws, 't1', null);
    await a!.kill();
    expect(await o.readDaemonGeneration!({ workspaceId: ws, runtimeTargetId: 't1' })).toBe(5);
    const stale = await peer(b!, { role: 'workspace-daemon', workspaceId: ws, runtimeTargetId: 't1', daemonIssueGeneration: 4 });
    expect((await stale.closed).code).toBe(4008);
    const fresh = await peer(b!, { role: 'workspace-daemon', workspaceId: ws, runtimeTargetId: 't1', daemonIssueGeneration: 6 });
    await waitPresence(o, ws, 't1', b!.id);
    const client = await clientOn(b!, ws);
    await roundTrip(client, fresh, `gen-${testNo}`);
  });

  it('serves local scopes while the backplane store is down and forwards across relays again once it is back, without restarts', async () => {
    // No periodic refresh within the test: presence must come back by itself when the store does.
    const [a, b] = await startRelays(mode, ['a', 'b'], { RELAY_PRESENCE_SYNC_INTERVAL_MS: '600000' });
    const o = await observer(mode);
    const ws = `w-outage-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    const local = await clientOn(a!, ws);
    const remote = await clientOn(b!, ws);
    await roundTrip(remote, daemon, `remote-${testNo}`);
    await breakStore(mode);
    try {
      // An outage is reported in /ready's body; the relays stay in service (issue 22 item 6).
      const reportsOutage = async (r: RelayProcess) => {
        const res = await fetch(`${r.httpUrl}/ready`);
        return res.status === 200 && ((await res.json()) as { backplane?: string }).backplane === 'unreachable';
      };
      await waitFor(async () => (await reportsOutage(a!)) && (await reportsOutage(b!)), 'relays to report the backplane unreachable, ready');
      await roundTrip(local, daemon, `local-${testNo}`);
      remote.send(e2ee(`s-remote-${testNo}`, { seq: 10 }));
      expect(await remote.next((m) => m.code === 'DAEMON_UNAVAILABLE')).toMatchObject({ retryable: true });
    } finally {
      await healStore(mode);
    }
    await waitFor(async () => (await a!.metric('relay_backplane_healthy')) === 1 && (await b!.metric('relay_backplane_healthy')) === 1, 'backplanes healthy again');
    // Redis comes back empty: relay A's backplane announces its daemon again on reconnect.
    await waitPresence(o, ws, 't1', a!.id);
    remote.send(e2ee(`s-remote-${testNo}`, { seq: 11 }));
    await daemon.next((m) => m.type === 'e2ee' && m.seq === 11);
    daemon.send(e2ee(`s-remote-${testNo}`, { seq: 12 }));
    await remote.next((m) => m.type === 'e2ee' && m.seq === 12);
    expect(await b!.metric('relay_backplane_reconnects_total')).toBeGreaterThanOrEqual(1);
  });

  it('a relay still holding a superseded daemon cannot take presence back with its refreshes', async () => {
    const [a, b, c] = await startRelays(mode, ['a', 'b', 'c']);
    const o = await observer(mode);
    const ws = `w-super-${testNo}`;
    // The old daemon stays connected to A, as a half-open socket would.
    await peer(a!, { role: 'workspace-daemon', workspaceId: ws, runtimeTargetId: 't1', daemonIssueGeneration: 5 });
    await waitPresence(o, ws, 't1', a!.id);
    const current = await peer(c!, { role: 'workspace-daemon', workspaceId: ws, runtimeTargetId: 't1', daemonIssueGeneration: 6 });
    await waitPresence(o, ws, 't1', c!.id);
    await waitFor(async () => (await a!.metric('relay_presence_upsert_stale_total')) >= 1, 'A to refresh and be refused');
    expect((await o.resolvePresence({ workspaceId: ws, runtimeTargetId: 't1' }))?.relayId).toBe(c!.id);
    const client = await clientOn(b!, ws);
    await roundTrip(client, current, `super-${testNo}`);
  });

  it('forgets a crashed relay within the presence TTL; a daemon reconnecting elsewhere is found', async () => {
    const [a, b, c] = await startRelays(mode, ['a', 'b', 'c']);
    const o = await observer(mode);
    const ws = `w-crash-${testNo}`;
    const daemon = await daemonOn(a!, ws);
    await waitPresence(o, ws, 't1', a!.id);
    await a!.kill();
    await daemon.closed;
    // Bounded by the TTL plus one refresh-free margin, not by a fixed sleep.
    await waitFor(async () => (await o.resolvePresence({ workspaceId: ws, runtimeTargetId: 't1' })) === null, 'presence to expire', PRESENCE_TTL_MS + 3000);
    const again = await daemonOn(c!, ws);
    await waitPresence(o, ws, 't1', c!.id);
    const client = await clientOn(b!, ws);
    await roundTrip(client, again, `crash-${testNo}`);
  });
});

type CapturedFrame = BusFrameLike & { payload: string };
interface BusFrameLike {
  workspaceId: string;
  runtimeTargetId: string;
  sourceRelayId: string;
  targetRelayId: string | null;
  direction: 'client_to_daemon' | 'daemon_to_clients';
  payload: string;
}

async function withRedis<T>(use: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    return await use(r);
  } finally {
    r.disconnect();
  }
}

/** breakStore makes the backplane store unreachable: Redis is killed, the platform answers 503. */
async function breakStore(mode: Mode): Promise<void> {
  if (mode === 'redis') await redis.stop();
  else bus.setAvailable(false);
}

async function healStore(mode: Mode): Promise<void> {
  if (mode === 'redis') await redis.start();
  else bus.setAvailable(true);
}

/** capturedFrames returns the frames the relays really sent to relayId, from the store. */
/**
 * captureFrames records every bus frame addressed to relayId from now on, as an
 * attacker reading the store could. In redis mode a second reader follows the
 * stream, since the relay trims what it has read.
 */
async function captureFrames(mode: Mode, relayId: string): Promise<{ frames(): CapturedFrame[]; stop(): void }> {
  if (mode === 'server') {
    return { frames: () => bus.entries.map((e) => e.frame as unknown as CapturedFrame).filter((f) => f.targetRelayId === relayId), stop: () => {} };
  }
  const r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const key = redisKeys(prefix).stream(relayId);
  const frames: CapturedFrame[] = [];
  let stopped = false;
  let last = (await r.xrevrange(key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const loop = (async () => {
    while (!stopped) {
      const result = (await r.xread('BLOCK', 200, 'STREAMS', key, last)) ?? [];
      for (const [, entries] of result) {
        for (const [id, fields] of entries) {
          last = id;
          frames.push(parseEntry(fields).value as CapturedFrame);
        }
      }
    }
  })().catch(() => undefined);
  return {
    frames: () => frames,
    stop: () => {
      stopped = true;
      void loop.finally(() => r.disconnect());
    },
  };
}

/** inject writes a frame straight into relayId's bus, as an attacker with store access could. */
async function inject(mode: Mode, relayId: string, frame: object): Promise<void> {
  if (mode === 'server') {
    bus.inject({ ...frame });
    return;
  }
  await withRedis((r) => r.xadd(redisKeys(prefix).stream(relayId), '*', 'f', JSON.stringify(frame)));
}

describe('multi-relay start-up refusal (docs/protocol.md#weak-bus-off)', () => {
  it.each<[Mode, Record<string, string>]>([
    ['redis', {}],
    ['redis', { RELAY_BUS_ENABLED: '0' }],
    ['server', {}],
    ['server', { RELAY_BUS_ENABLED: '0' }],
  ])('refuses %s mode without a bus HMAC key (%j): cross-relay forwarding is never silently off', async (mode, extra) => {
    const env = { ...relayEnv(mode, extra), HOST: '127.0.0.1', PORT: '0', RELAY_MODE: 'dev' };
    delete (env as Record<string, string | undefined>).RELAY_BUS_HMAC_KEY;
    const { code, output } = await relayExit(env);
    expect(code).not.toBe(0);
    expect(output).toMatch(/RELAY_BUS_HMAC_KEY|BUS_HMAC_KEY_REQUIRED/);
    expect(output).not.toContain(INTERNAL_KEY);
  });
});

describe('multi-relay (redis backplane) under load', () => {
  it('three relays, 50 workspaces at random: every frame reaches exactly its scope’s peers', async () => {
    const three = await startRelays('redis', ['a', 'b', 'c']);
    const o = await observer('redis');
    let seed = 0x5eed + testNo;
    const random = (n: number) => {
      // mulberry32: a small seeded PRNG so a failure can be replayed.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const scopes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const ws = `w50-${testNo}-${i}`;
        const daemonRelay = three[random(3)]!;
        const daemon = await daemonOn(daemonRelay, ws);
        return { ws, daemonRelay, daemon, clientRelays: Array.from({ length: 1 + random(2) }, () => three[random(3)]!) };
      }),
    );
    for (const s of scopes) await waitPresence(o, s.ws, 't1', s.daemonRelay.id);
    const pairs = await Promise.all(
      scopes.flatMap((s) =>
        s.clientRelays.map(async (relay, j) => ({ scope: s, client: await clientOn(relay, s.ws), tag: `${s.ws}-c${j}` })),
      ),
    );
    await Promise.all(pairs.map((p) => roundTrip(p.client, p.scope.daemon, p.tag)));
    // A second pass as a barrier: anything misrouted in the first would have shown up by now.
    await Promise.all(pairs.map((p) => roundTrip(p.client, p.scope.daemon, `${p.tag}-again`)));
    const tagsOf = (messages: string[]) =>
      messages
        .map((m) => JSON.parse(m) as { type?: string; requestId?: string; sessionId?: string })
        .filter((m) => m.type !== 'relay_status')
        .map((m) => `${m.type}:${(m.requestId ?? m.sessionId ?? '').replace(/^(req|s)-/, '')}`)
        .sort();
    const expected = (tag: string, side: 'daemon' | 'client') =>
      [tag, `${tag}-again`].flatMap((t) => (side === 'daemon' ? [`relay_key_exchange_init:${t}`, `e2ee:${t}`] : [`relay_key_exchange_response:${t}`, `e2ee:${t}`]));
    for (const p of pairs) expect(tagsOf(p.client.messages)).toEqual(expected(p.tag, 'client').sort());
    for (const s of scopes) {
      const mine = pairs.filter((p) => p.scope === s).flatMap((p) => expected(p.tag, 'daemon'));
      expect(tagsOf(s.daemon.messages)).toEqual(mine.sort());
    }
    const crossRelay = pairs.filter((p) => p.client !== undefined && p.scope.daemonRelay.wsUrl !== (p.client.ws.url.split('?')[0] ?? ''));
    expect(crossRelay.length).toBeGreaterThan(0);
  });
});
