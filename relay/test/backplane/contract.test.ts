// One contract suite for every backplane adapter: redis against a real
// redis-server, server against the fake platform's bus, single where it applies.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBackplane } from '../../src/backplane/index.js';
import type { Backplane, BackplaneOptions, BusFrame, PresenceRecord } from '../../src/backplane/index.js';
import { computeBusSignature, signBusFrame } from '../../src/backplane/bus-signing.js';
import { deriveBusSubkeys } from '../../src/backplane/keys.js';
import { createLossMarkerSigner } from '../../src/backplane/loss-marker.js';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import { entryFields } from '../../src/backplane/redis/stream-entry.js';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { installPlatformBus, type FakePlatformBus } from '../fake-platform-bus.js';
import { selfSignedCert, startRedisSentinel, startRedisServer, type TestRedisSentinel, type TestRedisServer } from '../redis-server.js';
import { waitFor } from './wait-for.js';
import { recordingLogger, type RecordedLog } from '../log-recorder.js';

const HMAC_KEY = 'contract-bus-hmac-key-0123456789';
const INTERNAL_KEY = 'contract-internal-key-0123456789';
const REDIS_PASSWORD = 'contract-redis-password';
const PREFIX = 'contract';

interface Relay {
  readonly id: string;
  readonly backplane: Backplane;
  readonly registry: Registry;
  readonly received: BusFrame[];
}

/** Harness hides how each adapter's store is run, faulted and written to directly. */
interface Harness {
  readonly mode: 'redis' | 'server';
  setup(): Promise<void>;
  teardown(): Promise<void>;
  options(relayId: string): BackplaneOptions;
  /** inject writes a raw frame to targetRelayId's bus, bypassing any relay. */
  inject(targetRelayId: string, frame: object): Promise<void>;
  /** breakStore makes the store unreachable; healStore brings it back. */
  breakStore(): Promise<void>;
  healStore(): Promise<void>;
  /** expireAll makes every presence entry outlive its TTL. */
  expireAll(): Promise<void>;
}

const logs: RecordedLog[] = [];
const deps = (registry: Registry) => ({
  registry,
  now: Date.now,
  log: recordingLogger(logs),
});

const common = {
  relayWsBaseUrl: 'ws://127.0.0.1:1/ws',
  busHmacKey: HMAC_KEY,
  busSignatureMaxSkewMs: 15_000,
  busFreshnessTrackMax: 1000,
  maxFrameBytes: 65_536,
  presenceTtlMs: 45_000,
  presenceResolveCacheMax: 100,
  presenceResolveCacheTtlMs: 0,
};

function redisHarness(): Harness {
  let server: TestRedisServer;
  let direct: Redis;
  let ttlMs = common.presenceTtlMs;
  return {
    mode: 'redis',
    async setup() {
      server = await startRedisServer({ password: REDIS_PASSWORD });
      direct = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      direct.on('error', () => {});
      await direct.connect();
    },
    async teardown() {
      direct.disconnect();
      await server.close();
    },
    options: (relayId) => ({
      ...common,
      presenceTtlMs: ttlMs,
      mode: 'redis',
      relayId,
      relayWsBaseUrl: `ws://${relayId}.test/ws`,
      redis: { url: server.url, keyPrefix: PREFIX, connectTimeoutMs: 2000, queueMax: 1000, reconnectBaseMs: 50, reconnectMaxMs: 400 },
    }),
    async inject(target, frame) {
      await direct.xadd(redisKeys(PREFIX).stream(target), '*', 'f', JSON.stringify(frame));
    },
    breakStore: () => server.stop(),
    async healStore() {
      await server.start();
      await waitFor(async () => (await direct.ping().catch(() => null)) === 'PONG', 'direct client to reconnect');
    },
    async expireAll() {
      // Real Redis TTLs: shrink every presence key's TTL to 1 ms.
      ttlMs = common.presenceTtlMs;
      for (const key of await direct.keys(`${PREFIX}:presence:*`)) await direct.pexpire(key, 1);
    },
  };
}

function serverHarness(): Harness {
  let platform: FakePlatform;
  let bus: FakePlatformBus;
  let clockOffsetMs = 0;
  return {
    mode: 'server',
    async setup() {
      platform = await startFakePlatform();
      bus = installPlatformBus(platform, { internalKey: INTERNAL_KEY, presenceTtlMs: 45_000, now: () => Date.now() + clockOffsetMs });
    },
    async teardown() {
      bus.close();
      await platform.close();
    },
    options: (relayId) => ({
      ...common,
      mode: 'server',
      relayId,
      relayWsBaseUrl: `ws://${relayId}.test/ws`,
      server: {
        baseUrl: platform.url,
        internalKey: INTERNAL_KEY,
        timeoutMs: 2000,
        maxResponseBytes: 262_144,
        pullLimit: 50,
        pullWaitMs: 1000,
        pollIntervalMs: 50,
      },
    }),
    async inject(target, frame) {
      bus.inject({ ...frame, targetRelayId: (frame as BusFrame).targetRelayId ?? target });
    },
    async breakStore() {
      bus.setAvailable(false);
    },
    async healStore() {
      bus.setAvailable(true);
    },
    async expireAll() {
      clockOffsetMs += 46_000;
    },
  };
}


async function metric(registry: Registry, name: string): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (!found) return 0;
  const data = await found.get();
  const values = data.values as { value: number; metricName?: string }[];
  // A histogram reports its observation count under <name>_count.
  const count = values.find((v) => v.metricName === `${name}_count`);
  return (count ?? values[0])?.value ?? 0;
}

async function labelledMetric(registry: Registry, name: string, reason: string): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (!found) return 0;
  const data = await found.get();
  return (data.values as { value: number; labels: Record<string, unknown> }[]).find((v) => v.labels.reason === reason)?.value ?? 0;
}

let seq = 0;
const unique = (name: string) => `${name}-${process.pid}-${++seq}`;

describe.each([redisHarness(), serverHarness()])('backplane contract: $mode', (harness) => {
  const open: Relay[] = [];

  async function relay(id = unique('relay'), options?: Partial<BackplaneOptions>, start = true): Promise<Relay> {
    const registry = new Registry();
    const received: BusFrame[] = [];
    const backplane = createBackplane({ ...harness.options(id), ...options }, deps(registry));
    if (start) await backplane.start((frame) => received.push(frame));
    const r = { id, backplane, registry, received };
    open.push(r);
    return r;
  }

  const frameFor = (from: Relay, to: Relay, payload: string, patch: Partial<BusFrame> = {}): BusFrame => ({
    workspaceId: 'ws_1',
    runtimeTargetId: 'rt_1',
    sourceRelayId: from.id,
    targetRelayId: to.id,
    direction: 'client_to_daemon',
    payload,
    ...patch,
  });

  const presence = (r: Relay, patch: Partial<PresenceRecord> = {}): PresenceRecord => ({
    workspaceId: 'ws',
    runtimeTargetId: 'rt',
    relayId: r.id,
    relayWsBaseUrl: `ws://${r.id}.test/ws`,
    daemonConnected: true,
    updatedAtMs: 0,
    ...patch,
  });

  beforeAll(() => harness.setup());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((r) => r.backplane.close()));
  });
  afterAll(async () => {
    await harness.teardown();
    const text = JSON.stringify(logs);
    for (const secret of [HMAC_KEY, INTERNAL_KEY, REDIS_PASSWORD]) expect(text).not.toContain(secret);
  });

  it('is healthy after start and reports its mode', async () => {
    const a = await relay();
    expect(a.backplane.mode).toBe(harness.mode);
    await waitFor(() => a.backplane.isHealthy(), 'healthy');
  });

  it('upserts and resolves presence, with machine id and generation', async () => {
    const a = await relay();
    const b = await relay();
    const workspaceId = unique('ws');
    expect(await b.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'rt' })).toBeNull();
    expect(await a.backplane.upsertPresence(presence(a, { workspaceId, machineId: 'm-1', daemonIssueGeneration: 4 }))).toBe(true);
    expect(await b.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'rt' })).toMatchObject({
      workspaceId,
      runtimeTargetId: 'rt',
      relayId: a.id,
      relayWsBaseUrl: `ws://${a.id}.test/ws`,
      daemonConnected: true,
      machineId: 'm-1',
      daemonIssueGeneration: 4,
    });
    // The scope is the pair of ids (docs/protocol.md#weak-scope-key): another target, or none, is another scope.
    expect(await b.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'other' })).toBeNull();
    expect(await b.backplane.resolvePresence({ workspaceId })).toBeNull();
    expect(await metric(a.registry, 'relay_presence_entries')).toBe(1);
    expect(await metric(a.registry, 'relay_presence_upsert_ok_total')).toBe(1);
  });

  it('keeps "a:b" without a target apart from "a" with target "b"', async () => {
    const a = await relay();
    const workspaceId = unique('ws');
    await a.backplane.upsertPresence(presence(a, { workspaceId: `${workspaceId}:b`, runtimeTargetId: undefined }));
    expect(await a.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'b' })).toBeNull();
    expect(await a.backplane.resolvePresence({ workspaceId: `${workspaceId}:b` })).not.toBeNull();
  });

  it('lets an entry expire when its relay stops refreshing it', async () => {
    const a = await relay();
    const workspaceId = unique('ws');
    await a.backplane.upsertPresence(presence(a, { workspaceId }));
    expect(await a.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'rt' })).not.toBeNull();
    await harness.expireAll();
    await waitFor(async () => (await a.backplane.resolvePresence({ workspaceId, runtimeTargetId: 'rt' })) === null, 'expiry');
  });

  it('never lets a stale relay delete a newer relay’s entry (compare-and-delete)', async () => {
    const a = await relay();
    const c = await relay();
    const scope = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    await a.backplane.upsertPresence(presence(a, scope));
    await c.backplane.upsertPresence(presence(c, scope));
    expect(await a.backplane.removePresence(scope, a.id)).toBe(true);
    expect(await a.backplane.upsertPresence(presence(a, { ...scope, daemonConnected: false }))).toBe(true);
    expect((await a.backplane.resolvePresence(scope))?.relayId).toBe(c.id);
    expect(await c.backplane.removePresence(scope, c.id)).toBe(true);
    expect(await a.backplane.resolvePresence(scope)).toBeNull();
    expect(await metric(c.registry, 'relay_presence_entries')).toBe(0);
  });

  it('keeps the highest daemon generation across a relay restart and daemon departure', async () => {
    const id = unique('relay');
    const scope = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    const first = await relay(id);
    await first.backplane.upsertPresence(presence(first, { ...scope, daemonIssueGeneration: 7 }));
    await first.backplane.upsertPresence(presence(first, { ...scope, daemonIssueGeneration: 3 }));
    await first.backplane.close();
    const restarted = await relay(id);
    expect(await restarted.backplane.readDaemonGeneration(scope)).toBe(7);
    expect((await restarted.backplane.resolvePresence(scope))?.daemonIssueGeneration).toBe(7);
    await restarted.backplane.upsertPresence(presence(restarted, { ...scope, daemonConnected: false, daemonIssueGeneration: 8 }));
    // No daemon any more, but the generation is still answered, for the next admission.
    expect(await restarted.backplane.resolvePresence(scope)).toEqual({
      ...scope,
      relayId: '',
      relayWsBaseUrl: '',
      daemonConnected: false,
      daemonIssueGeneration: 8,
      updatedAtMs: 0,
    });
    expect(await restarted.backplane.readDaemonGeneration(scope)).toBe(8);
    expect(await restarted.backplane.readDaemonGeneration({ workspaceId: unique('ws') })).toBeNull();
  });

  it('refuses a presence write from a relay holding a superseded daemon generation', async () => {
    const old = await relay();
    const newer = await relay();
    const scope = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    expect(await old.backplane.upsertPresence(presence(old, { ...scope, daemonIssueGeneration: 5 }))).toBe(true);
    expect(await newer.backplane.upsertPresence(presence(newer, { ...scope, daemonIssueGeneration: 6 }))).toBe(true);
    // The old relay's periodic refresh must not take the entry back.
    expect(await old.backplane.upsertPresence(presence(old, { ...scope, daemonIssueGeneration: 5 }))).toBe(false);
    expect((await old.backplane.resolvePresence(scope))?.relayId).toBe(newer.id);
    expect(await metric(old.registry, 'relay_presence_upsert_stale_total')).toBe(1);
    expect(await metric(old.registry, 'relay_presence_entries')).toBe(0);
    // Equal generations (a refresh by the current holder) and writes without a generation still pass.
    expect(await newer.backplane.upsertPresence(presence(newer, { ...scope, daemonIssueGeneration: 6 }))).toBe(true);
    expect(await old.backplane.upsertPresence(presence(old, { ...scope }))).toBe(true);
  });

  it('delivers a published frame, signed, to its target relay only', async () => {
    const a = await relay();
    const b = await relay();
    const c = await relay();
    const payload = JSON.stringify({ type: 'e2ee', sessionId: 's', data: 'ü'.repeat(10) });
    expect(await a.backplane.publish(frameFor(a, b, payload, { machineId: 'm-1' }))).toBe(true);
    await waitFor(() => b.received.length === 1, 'b to receive');
    const got = b.received[0]!;
    expect(got).toMatchObject({ payload, sourceRelayId: a.id, targetRelayId: b.id, machineId: 'm-1' });
    expect(got.signature).toBe(computeBusSignature({ ...got, signature: undefined }, HMAC_KEY));
    // Published after the first from the same relay: had the first leaked to c, c would see it first.
    expect(await a.backplane.publish(frameFor(a, c, 'second'))).toBe(true);
    expect(await b.backplane.publish(frameFor(b, a, 'reply', { direction: 'daemon_to_clients' }))).toBe(true);
    await waitFor(() => c.received.length === 1 && a.received.length === 1, 'c and a to receive');
    expect(c.received.map((f) => f.payload)).toEqual(['second']);
    expect(a.received.map((f) => [f.payload, f.direction])).toEqual([['reply', 'daemon_to_clients']]);
    expect(b.received).toHaveLength(1);
    expect(await metric(a.registry, 'relay_bus_publish_ok_total')).toBe(2);
    expect(await metric(b.registry, 'relay_bus_frames_received_total')).toBe(1);
    expect(await metric(b.registry, 'relay_bus_latency_seconds')).toBe(1);
  });

  it('drops forged, stale and replayed frames, counting each, and tolerates out-of-order arrival', async () => {
    const a = await relay();
    const b = await relay();
    const now = Date.now();
    const valid = signBusFrame(frameFor(a, b, 'valid'), HMAC_KEY, now);
    const older = signBusFrame(frameFor(a, b, 'older'), HMAC_KEY, now - 5000);
    await harness.inject(b.id, signBusFrame(frameFor(a, b, 'forged'), 'not-the-key', now));
    await harness.inject(b.id, { ...valid, payload: 'tampered' });
    await harness.inject(b.id, signBusFrame(frameFor(a, b, 'stale'), HMAC_KEY, now - 60_000));
    await harness.inject(b.id, frameFor(a, b, 'unsigned'));
    await harness.inject(b.id, valid);
    await harness.inject(b.id, older);
    await harness.inject(b.id, valid);
    await harness.inject(b.id, { not: 'a frame' });
    await harness.inject(b.id, signBusFrame(frameFor(a, b, 'sentinel'), HMAC_KEY, now));
    await waitFor(() => b.received.some((f) => f.payload === 'sentinel'), 'sentinel');
    expect(b.received.map((f) => f.payload)).toEqual(['valid', 'older', 'sentinel']);
    expect(await metric(b.registry, 'relay_bus_pull_invalid_signature_total')).toBe(3);
    expect(await metric(b.registry, 'relay_bus_pull_stale_signature_total')).toBe(1);
    expect(await metric(b.registry, 'relay_bus_pull_replayed_signature_total')).toBe(1);
    expect(await metric(b.registry, 'relay_bus_pull_malformed_total')).toBe(1);
  });

  it('broadcasts a frame without a target relay to every other relay, not back to itself (docs/protocol.md#weak-session-events)', async () => {
    const [a, b, c] = [await relay(), await relay(), await relay()];
    expect(a.backplane.broadcasts).toBe(true);
    const event = frameFor(a, b, '{"type":"relay_session_event"}', { targetRelayId: null, direction: 'daemon_to_clients' });
    expect(await a.backplane.publish(event)).toBe(true);
    await waitFor(() => b.received.length === 1 && c.received.length === 1, 'the event on both other relays');
    expect(b.received[0]).toMatchObject({ targetRelayId: null, sourceRelayId: a.id, payload: event.payload });
    // A frame for b after the event: once it is there, a would have seen its own echo by now too.
    expect(await a.backplane.publish(frameFor(a, b, 'after'))).toBe(true);
    await waitFor(() => b.received.some((f) => f.payload === 'after'), 'the frame after the event');
    expect(a.received).toEqual([]);
    expect(await metric(a.registry, 'relay_bus_pull_misaddressed_total')).toBe(0);
  });

  it('starts while the store is down and delivers once it comes up', async () => {
    await harness.breakStore();
    let a: Relay;
    let b: Relay;
    try {
      a = await relay();
      b = await relay();
      expect(a.backplane.isHealthy()).toBe(false);
    } finally {
      await harness.healStore();
    }
    await waitFor(() => a.backplane.isHealthy() && b.backplane.isHealthy(), 'healthy after the store came up');
    expect(await a.backplane.publish(frameFor(a, b, 'late start'))).toBe(true);
    await waitFor(() => b.received.length === 1, 'frame');
  });

  it('flips unhealthy while the store is down, then delivers again without a restart', async () => {
    const a = await relay();
    const b = await relay();
    const scope = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    const leaving = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    const arriving = { workspaceId: unique('ws'), runtimeTargetId: 'rt' };
    expect(await a.backplane.upsertPresence(presence(a, scope))).toBe(true);
    expect(await a.backplane.upsertPresence(presence(a, leaving))).toBe(true);
    expect(await a.backplane.publish(frameFor(a, b, 'before'))).toBe(true);
    await waitFor(() => b.received.some((f) => f.payload === 'before'), 'first frame');
    await harness.breakStore();
    try {
      await waitFor(() => !a.backplane.isHealthy() && !b.backplane.isHealthy(), 'both unhealthy');
      expect(await a.backplane.publish(frameFor(a, b, 'during'))).toBe(false);
      expect(await metric(a.registry, 'relay_bus_publish_failed_total')).toBe(1);
      expect(await a.backplane.resolvePresence({ workspaceId: 'ws', runtimeTargetId: 'rt' })).toBeNull();
      // A daemon leaves while the store is unreachable: the removal cannot be written now.
      expect(await a.backplane.removePresence(leaving, a.id)).toBe(false);
      // Another daemon arrives meanwhile: its entry cannot be written now either.
      expect(await a.backplane.upsertPresence(presence(a, arriving))).toBe(false);
    } finally {
      await harness.healStore();
    }
    await waitFor(() => a.backplane.isHealthy() && b.backplane.isHealthy(), 'both healthy again');
    expect(await a.backplane.publish(frameFor(a, b, 'after'))).toBe(true);
    // Only frames addressed to b: a platform hands a new relay the broadcasts it still keeps (see the session-events broadcast test above).
    const forB = () => b.received.filter((f) => f.targetRelayId === b.id).map((f) => f.payload);
    await waitFor(() => forB().length === 2, 'frame after recovery');
    expect(forB()).toEqual(['before', 'after']);
    // The store may have come back empty (Redis without persistence): a's entry is announced again.
    await waitFor(async () => (await b.backplane.resolvePresence(scope))?.relayId === a.id, 'presence announced again');
    // The daemon that arrived during the outage is announced as soon as the store is back, not at the next refresh.
    await waitFor(async () => (await b.backplane.resolvePresence(arriving))?.relayId === a.id, 'the arrived daemon announced');
    // ...and the daemon that left meanwhile is not announced again; its removal is retried instead.
    await waitFor(async () => (await b.backplane.resolvePresence(leaving)) === null, 'the departed daemon to be gone');
    expect(await metric(a.registry, 'relay_presence_entries')).toBe(2);
    expect(await metric(b.registry, 'relay_backplane_reconnects_total')).toBeGreaterThanOrEqual(1);
  });
});

describe('backplane contract: redis specifics', () => {
  const harness = redisHarness();
  const relays: Backplane[] = [];
  const adminClient = () => {
    const url = new URL(harness.options('x').redis!.url);
    return new Redis({ host: url.hostname, port: Number(url.port), password: REDIS_PASSWORD });
  };
  /** killBusConnection cuts relayId's stream reader off, as a network blip would. */
  async function killBusConnection(admin: Redis, relayId: string): Promise<void> {
    const clients = String(await admin.call('CLIENT', 'LIST'));
    const busId = new RegExp(`id=(\\d+) .*name=viewport-relay:${relayId}:bus`).exec(clients)?.[1];
    expect(busId).toBeDefined();
    await admin.call('CLIENT', 'KILL', 'ID', busId!);
  }
  beforeAll(() => harness.setup());
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    await harness.teardown();
  });

  it('loses nothing across a reader reconnect: frames published meanwhile are read on return', async () => {
    const received: string[] = [];
    const a = createBackplane(harness.options('reader-a'), deps(new Registry()));
    const registryB = new Registry();
    const b = createBackplane(harness.options('reader-b'), deps(registryB));
    relays.push(a, b);
    await a.start(() => {});
    await b.start((frame) => received.push(frame.payload));
    const admin = adminClient();
    try {
      await killBusConnection(admin, 'reader-b');
      const frame = (payload: string): BusFrame => ({
        workspaceId: 'w',
        runtimeTargetId: 'r',
        sourceRelayId: 'reader-a',
        targetRelayId: 'reader-b',
        direction: 'client_to_daemon',
        payload,
      });
      // Published right after the kill, typically while b is still reconnecting.
      for (const payload of ['m1', 'm2', 'm3']) expect(await a.publish(frame(payload))).toBe(true);
      await waitFor(() => received.length === 3, 'all three frames');
      expect(received).toEqual(['m1', 'm2', 'm3']);
      await waitFor(async () => (await metric(registryB, 'relay_backplane_reconnects_total')) >= 1, 'reconnect counted');
    } finally {
      admin.disconnect();
    }
  });

  it('never trims unread frames: a burst past the cap is refused (counted), and a refused frame for clients closes them on the reader', async () => {
    // B's reader is cut off and reconnects only after 4 s, so A's burst meets a full stream.
    const registryA = new Registry();
    const registryB = new Registry();
    const a = createBackplane(harness.options('burst-a'), deps(registryA));
    const b = createBackplane({ ...harness.options('burst-b'), redis: { ...harness.options('burst-b').redis!, reconnectBaseMs: 4000, reconnectMaxMs: 4000 } }, deps(registryB));
    relays.push(a, b);
    const received: string[] = [];
    const losses: string[] = [];
    b.onBusLoss((loss) => losses.push(`${loss.sourceRelayId}/${loss.workspaceId}/${loss.runtimeTargetId}`));
    await a.start(() => {});
    await b.start((frame) => received.push(frame.payload));
    const admin = adminClient();
    try {
      await killBusConnection(admin, 'burst-b');
      await waitFor(() => !b.isHealthy(), 'reader cut off');
      const frame = (direction: BusFrame['direction'], payload: string): BusFrame => ({
        workspaceId: 'w',
        runtimeTargetId: 'r',
        sourceRelayId: 'burst-a',
        targetRelayId: 'burst-b',
        direction,
        payload,
      });
      // Cap 1000: 600 client frames fit, then 400 of 600 daemon frames; the rest are refused.
      const toDaemon = await Promise.all(Array.from({ length: 600 }, (_, i) => a.publish(frame('client_to_daemon', `c${i}`))));
      const toClients = await Promise.all(Array.from({ length: 600 }, (_, i) => a.publish(frame('daemon_to_clients', `d${i}`))));
      const late = await Promise.all(Array.from({ length: 10 }, (_, i) => a.publish(frame('client_to_daemon', `late${i}`))));
      expect(b.isHealthy()).toBe(false); // still cut off: the burst really met a reader that was not reading
      expect(toDaemon.every(Boolean)).toBe(true);
      expect(toClients.slice(0, 400).every(Boolean)).toBe(true);
      expect(toClients.slice(400).some(Boolean)).toBe(false);
      expect(late.some(Boolean)).toBe(false);
      expect(await metric(registryA, 'relay_bus_publish_refused_total')).toBe(210);
      expect(await metric(registryA, 'relay_bus_loss_marked_total')).toBe(1);
      // On return B reads every accepted frame in order, then the marker.
      await waitFor(() => losses.length === 1, 'the loss marker read', 20_000);
      expect(received).toEqual([...Array.from({ length: 600 }, (_, i) => `c${i}`), ...Array.from({ length: 400 }, (_, i) => `d${i}`)]);
      expect(losses).toEqual(['burst-a/w/r']);
      expect(await metric(registryB, 'relay_bus_loss_received_total')).toBe(1);
      // Read entries are trimmed away, so the queue takes frames again; a later loss leaves a new marker.
      await waitFor(async () => (await a.publish(frame('client_to_daemon', 'after'))) === true, 'the queue drained');
      await waitFor(() => received.includes('after'), 'the frame after the drain');
      expect(await admin.exists(redisKeys(PREFIX).lossGuard('burst-b', 'burst-a', { workspaceId: 'w', runtimeTargetId: 'r' }))).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it('ignores a loss marker it cannot authenticate, or that is replayed or stale', async () => {
    const registryB = new Registry();
    const b = createBackplane(harness.options('marker-b'), deps(registryB));
    relays.push(b);
    const losses: unknown[] = [];
    b.onBusLoss((loss) => losses.push(loss));
    const received: string[] = [];
    await b.start((frame) => received.push(frame.payload));
    const admin = adminClient();
    try {
      const base: BusFrame = { workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'other', targetRelayId: 'marker-b', direction: 'daemon_to_clients', payload: 'x' };
      const forged = { ...signBusFrame(base, 'wrong-key', Date.now()) };
      const stream = redisKeys(PREFIX).stream('marker-b');
      await admin.xadd(stream, '*', 'l', JSON.stringify(forged));
      await admin.xadd(stream, '*', 'f', JSON.stringify(signBusFrame({ ...base, payload: 'probe' }, HMAC_KEY, Date.now())));
      await waitFor(() => received.includes('probe'), 'the probe after the forged marker');
      expect(losses).toEqual([]);
      expect(await metric(registryB, 'relay_bus_pull_invalid_signature_total')).toBe(1);
      // A marker must be stamped with the loss-marker subkey and fresh (docs/backplane.md#loss-markers).
      const signer = createLossMarkerSigner(deriveBusSubkeys(HMAC_KEY).lossMarker);
      const markerEntry = (issuedAtMs: number) => {
        const frame = signBusFrame(base, HMAC_KEY, issuedAtMs);
        return entryFields(frame, 'loss', signer({ ...base, targetRelayId: 'marker-b', issuedAtMs }));
      };
      const genuine = markerEntry(Date.now());
      await admin.xadd(stream, '*', ...genuine);
      await waitFor(() => losses.length === 1, 'the genuine marker');
      // Replayed, or appended a minute after it was signed: refused and counted, never honoured.
      await admin.xadd(stream, '*', ...genuine);
      await admin.xadd(stream, '*', ...markerEntry(Date.now() - 60_000));
      await admin.xadd(stream, '*', 'f', JSON.stringify(signBusFrame({ ...base, payload: 'probe-2' }, HMAC_KEY, Date.now())));
      await waitFor(() => received.includes('probe-2'), 'the probe after the replays');
      expect(losses.length).toBe(1);
      expect(await labelledMetric(registryB, 'relay_bus_loss_refused_total', 'replayed')).toBe(1);
      expect(await labelledMetric(registryB, 'relay_bus_loss_refused_total', 'stale')).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

});

describe('backplane contract: server specifics', () => {
  let platform: FakePlatform;
  let bus: FakePlatformBus;
  const relays: Backplane[] = [];
  const harness = serverHarness();
  beforeAll(async () => {
    await harness.setup();
    platform = await startFakePlatform();
    bus = installPlatformBus(platform, { internalKey: INTERNAL_KEY });
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    bus.close();
    await platform.close();
    await harness.teardown();
  });
  const options = (relayId: string, patch: Partial<NonNullable<BackplaneOptions['server']>> = {}, maxFrameBytes = 65_536): BackplaneOptions => {
    const base = harness.options(relayId);
    return { ...base, maxFrameBytes, server: { ...base.server!, baseUrl: platform.url, ...patch } };
  };

  it('a platform that refuses past its queue cap keeps the promise: refused publishes are false and counted, accepted frames arrive in order', async () => {
    const capped = await startFakePlatform();
    const cappedBus = installPlatformBus(capped, { internalKey: INTERNAL_KEY, queueMax: 5 });
    const at = (relayId: string): BackplaneOptions => ({ ...options(relayId), server: { ...options(relayId).server!, baseUrl: capped.url } });
    const registryA = new Registry();
    const a = createBackplane(at('capped-a'), deps(registryA));
    const b = createBackplane(at('capped-b'), deps(new Registry()));
    try {
      await a.start(() => {});
      const frame = (payload: string): BusFrame => ({ workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'capped-a', targetRelayId: 'capped-b', direction: 'client_to_daemon', payload });
      // B has not pulled yet, so nothing addressed to it is read.
      const results: boolean[] = [];
      for (let i = 0; i < 8; i++) results.push(await a.publish(frame(`p${i}`)));
      expect(results).toEqual([true, true, true, true, true, false, false, false]);
      expect(await metric(registryA, 'relay_bus_publish_failed_total')).toBe(3);
      const received: string[] = [];
      await b.start((f) => received.push(f.payload));
      await waitFor(() => received.length === 5, 'the accepted frames');
      expect(received).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
      // Once B has read them, the queue takes frames again.
      await waitFor(async () => await a.publish(frame('after')), 'the queue to take frames again');
      await waitFor(() => received.includes('after'), 'the frame after the drain');
    } finally {
      await Promise.all([a.close(), b.close()]);
      cappedBus.close();
      await capped.close();
    }
  });

  it('keeps one pull in flight and delivers a frame larger than the API response cap', async () => {
    const received: string[] = [];
    const a = createBackplane(options('big-a', { maxResponseBytes: 16_384 }, 200_000), deps(new Registry()));
    const b = createBackplane(options('big-b', { maxResponseBytes: 16_384 }, 200_000), deps(new Registry()));
    relays.push(a, b);
    await a.start(() => {});
    await b.start((frame) => received.push(frame.payload));
    const big = 'x'.repeat(150_000);
    for (const payload of ['small', big, 'after']) {
      expect(await a.publish({ workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'big-a', targetRelayId: 'big-b', direction: 'client_to_daemon', payload })).toBe(true);
    }
    await waitFor(() => received.length === 3, 'all frames');
    expect(received.map((p) => p.length)).toEqual([5, 150_000, 5]);
    expect(bus.maxConcurrentPulls('big-b')).toBe(1);
  });

  it('gives up on a hanging platform within the timeout: publish false, unhealthy, then recovers', async () => {
    const registry = new Registry();
    const d = createBackplane(options('slow', { timeoutMs: 300, pullWaitMs: 100 }), deps(registry));
    relays.push(d);
    await d.start(() => {});
    await waitFor(() => d.isHealthy(), 'healthy');
    // Far beyond the test's own timeout: only the client's timeout can let publish answer.
    bus.setLatency(600_000);
    try {
      expect(await d.publish({ workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'slow', targetRelayId: 'x', direction: 'client_to_daemon', payload: '{}' })).toBe(false);
      await waitFor(() => !d.isHealthy(), 'a timed-out pull to mark it unhealthy');
    } finally {
      bus.setLatency(0);
    }
    await waitFor(() => d.isHealthy(), 'healthy again');
    expect(await metric(registry, 'relay_bus_publish_failed_total')).toBe(1);
  });

  it('stays unhealthy with a wrong internal key and never logs either key', async () => {
    const before = logs.length;
    const wrongKey = 'wrong-internal-key-0123456789';
    const c = createBackplane(options('wrong-key', { internalKey: wrongKey }), deps(new Registry()));
    relays.push(c);
    await c.start(() => {});
    await waitFor(() => logs.slice(before).some((l) => JSON.stringify(l).includes('http_status')), 'a refused pull');
    expect(c.isHealthy()).toBe(false);
    expect(await c.publish({ workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'wrong-key', targetRelayId: 'x', direction: 'client_to_daemon', payload: '{}' })).toBe(false);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(wrongKey);
    expect(text).not.toContain(INTERNAL_KEY);
  });
});

describe('backplane contract: redis through Sentinel', () => {
  let master: TestRedisServer;
  let replica: TestRedisServer;
  let sentinel: TestRedisSentinel;
  const relays: Backplane[] = [];
  beforeAll(async () => {
    master = await startRedisServer();
    replica = await startRedisServer({ replicaOf: master.port });
    sentinel = await startRedisSentinel(master.port);
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    await sentinel.close();
    await replica.close();
    await master.close();
  });

  it('finds the master through Sentinel and carries presence and frames', async () => {
    const options = (relayId: string): BackplaneOptions => ({
      ...common,
      mode: 'redis',
      relayId,
      relayWsBaseUrl: `ws://${relayId}.test/ws`,
      redis: { url: sentinel.url, keyPrefix: PREFIX, connectTimeoutMs: 2000, queueMax: 100 },
    });
    const received: string[] = [];
    const a = createBackplane(options('sentinel-a'), deps(new Registry()));
    const b = createBackplane(options('sentinel-b'), deps(new Registry()));
    relays.push(a, b);
    await a.start(() => {});
    await b.start((frame) => received.push(frame.payload));
    await waitFor(() => a.isHealthy() && b.isHealthy(), 'connections through Sentinel');
    await a.upsertPresence({ workspaceId: 'w', runtimeTargetId: 'r', relayId: 'sentinel-a', relayWsBaseUrl: 'ws://a.test/ws', daemonConnected: true, updatedAtMs: 0 });
    expect((await b.resolvePresence({ workspaceId: 'w', runtimeTargetId: 'r' }))?.relayId).toBe('sentinel-a');
    const frame: BusFrame = { workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'sentinel-a', targetRelayId: 'sentinel-b', direction: 'client_to_daemon', payload: 'via-sentinel' };
    expect(await a.publish(frame)).toBe(true);
    await waitFor(() => received.length === 1, 'frame through Sentinel');
    // The data really sits on the master Sentinel pointed at.
    const direct = new Redis(master.url);
    try {
      expect(await direct.exists(redisKeys(PREFIX).stream('sentinel-b'))).toBe(1);
    } finally {
      direct.disconnect();
    }

    // Failover: the master dies, Sentinel promotes the replica, the adapters follow without a restart.
    await master.stop();
    await waitFor(() => !a.isHealthy() || !b.isHealthy(), 'the loss to be noticed');
    const promoted = new Redis(replica.url);
    try {
      await waitFor(async () => (await promoted.info('replication')).includes('role:master'), 'the replica to be promoted', 30_000);
    } finally {
      promoted.disconnect();
    }
    await waitFor(() => a.isHealthy() && b.isHealthy(), 'connections to the new master', 30_000);
    expect(await a.publish({ ...frame, payload: 'after-failover' })).toBe(true);
    await waitFor(() => received.length === 2, 'frame after failover', 30_000);
    expect(received).toEqual(['via-sentinel', 'after-failover']);
    expect((await b.resolvePresence({ workspaceId: 'w', runtimeTargetId: 'r' }))?.relayId).toBe('sentinel-a');
  }, 90_000);
});

/** selfSignedCert makes a throwaway certificate for 127.0.0.1 with openssl, or null when openssl is missing. */
const cert = selfSignedCert();

describe.skipIf(cert === null)('backplane contract: redis over TLS (rediss://)', () => {
  let server: TestRedisServer;
  const relays: Backplane[] = [];
  beforeAll(async () => {
    server = await startRedisServer({ password: REDIS_PASSWORD, tls: cert! });
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    await server.close();
  });
  const options = (relayId: string, ca: string | undefined): BackplaneOptions => ({
    ...common,
    mode: 'redis',
    relayId,
    relayWsBaseUrl: `ws://${relayId}.test/ws`,
    redis: { url: server.url, keyPrefix: PREFIX, connectTimeoutMs: 2000, queueMax: 100, reconnectBaseMs: 50, reconnectMaxMs: 400, tls: { ca } },
  });

  it('connects with the configured CA, carries presence and frames', async () => {
    expect(server.url.startsWith('rediss://')).toBe(true);
    const received: string[] = [];
    const a = createBackplane(options('tls-a', cert!.certPem), deps(new Registry()));
    const b = createBackplane(options('tls-b', cert!.certPem), deps(new Registry()));
    relays.push(a, b);
    await a.start(() => {});
    await b.start((frame) => received.push(frame.payload));
    await waitFor(() => a.isHealthy() && b.isHealthy(), 'TLS connections');
    await a.upsertPresence({ workspaceId: 'w', runtimeTargetId: 'r', relayId: 'tls-a', relayWsBaseUrl: 'ws://tls-a.test/ws', daemonConnected: true, updatedAtMs: 0 });
    expect((await b.resolvePresence({ workspaceId: 'w', runtimeTargetId: 'r' }))?.relayId).toBe('tls-a');
    const frame: BusFrame = { workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'tls-a', targetRelayId: 'tls-b', direction: 'client_to_daemon', payload: 'over-tls' };
    expect(await a.publish(frame)).toBe(true);
    await waitFor(() => received.length === 1, 'frame over TLS');
    expect(received).toEqual(['over-tls']);
  });

  it('refuses a server certificate it cannot verify, and stays unhealthy', async () => {
    const before = logs.length;
    const c = createBackplane(options('tls-untrusted', undefined), deps(new Registry()));
    relays.push(c);
    await c.start(() => {});
    await waitFor(() => logs.slice(before).some((l) => JSON.stringify(l).includes('self-signed certificate')), 'a certificate error');
    expect(c.isHealthy()).toBe(false);
  });
});

describe('backplane contract: single', () => {
  it('has no presence and no bus, and is always healthy', async () => {
    const single = createBackplane({ ...common, mode: 'single', relayId: 'solo' }, deps(new Registry()));
    await single.start(() => {});
    expect(single.mode).toBe('single');
    expect(await single.upsertPresence({ workspaceId: 'w', relayId: 'solo', relayWsBaseUrl: '', daemonConnected: true, updatedAtMs: 0 })).toBe(true);
    expect(await single.resolvePresence({ workspaceId: 'w' })).toBeNull();
    expect(await single.publish({ workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'solo', targetRelayId: 'x', direction: 'client_to_daemon', payload: '' })).toBe(false);
    expect(single.isHealthy()).toBe(true);
    await single.close();
  });
});
