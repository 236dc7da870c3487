// Peer links in redis mode against a real redis-server: frames switch from the
// stream to the link without loss, duplication or reordering; a dropped link
// leaves the markers that keep the delivery promise; a peer that cannot prove
// the bus key never gets a frame.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createBackplane } from '../../src/backplane/index.js';
import type { Backplane, BackplaneOptions, BusFrame } from '../../src/backplane/index.js';
import { deriveBusSubkeys } from '../../src/backplane/keys.js';
import { linkProof } from '../../src/backplane/peer-links/handshake.js';
import { encodePeerAddress } from '../../src/backplane/peer-links/peer-address.js';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import { parseEntry } from '../../src/backplane/redis/stream-entry.js';
import { startRedisServer, type TestRedisServer } from '../redis-server.js';
import { waitFor } from './wait-for.js';
import { silentLogger } from '@viewport/log';

const HMAC_KEY = 'peer-links-bus-hmac-key-0123456789';
const PREFIX = 'peerlinks';
const keys = redisKeys(PREFIX);
const SUBKEYS = deriveBusSubkeys(HMAC_KEY);

/** announce writes relay's peer record for url as that relay would (signed with the key, stamped now). */
const announce = (relayId: string, url: string) => direct.set(keys.peer(relayId), encodePeerAddress(SUBKEYS.peerAddress, relayId, url, Date.now()));

let redis: TestRedisServer;
let direct: Redis;
const running: Backplane[] = [];
const closers: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  direct = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  direct.on('error', () => {});
  await direct.connect();
});

afterAll(async () => {
  direct.disconnect();
  await redis.close();
});

afterEach(async () => {
  for (const b of running.splice(0)) await b.close();
  for (const close of closers.splice(0)) await close();
  await direct.flushall();
});

function options(relayId: string, key = HMAC_KEY): BackplaneOptions {
  return {
    mode: 'redis',
    relayId,
    relayWsBaseUrl: `ws://${relayId}.test/ws`,
    busHmacKey: key,
    busSignatureMaxSkewMs: 15_000,
    busFreshnessTrackMax: 1000,
    maxFrameBytes: 65_536,
    presenceTtlMs: 45_000,
    presenceResolveCacheMax: 100,
    redis: {
      url: redis.url,
      keyPrefix: PREFIX,
      connectTimeoutMs: 2000,
      queueMax: 100_000,
      peerLinks: { host: '127.0.0.1', port: 0, url: 'ws://127.0.0.1:0' },
    },
  };
}

interface TestRelay {
  readonly backplane: Backplane;
  readonly registry: Registry;
  readonly received: BusFrame[];
}

async function relay(relayId: string): Promise<TestRelay> {
  const registry = new Registry();
  const backplane = createBackplane(options(relayId), { registry, now: Date.now, log: silentLogger });
  const received: BusFrame[] = [];
  await backplane.start((frame) => received.push(frame));
  running.push(backplane);
  return { backplane, registry, received };
}

async function metric(r: TestRelay, name: string, reason?: string): Promise<number> {
  const found = (await r.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = reason === undefined ? found?.values[0] : found?.values.find((v) => v.labels.reason === reason);
  return Number(value?.value ?? 0);
}

function frame(from: string, to: string, seq: number, direction: BusFrame['direction'] = 'client_to_daemon'): BusFrame {
  return { workspaceId: 'ws-1', runtimeTargetId: 'rt-1', sourceRelayId: from, targetRelayId: to, direction, payload: `{"type":"e2ee","seq":${seq}}` };
}

const seqOf = (f: BusFrame) => (JSON.parse(f.payload) as { seq: number }).seq;

/** killConnection drops the Redis connection with that client name (the relay reconnects by itself). */
async function killConnection(name: string): Promise<void> {
  const list = (await direct.client('LIST')) as string;
  const id = list.split('\n').find((line) => line.includes(` name=${name} `))?.match(/^id=(\d+)/)?.[1];
  if (id === undefined) throw new Error(`no Redis connection named ${name}`);
  await direct.client('KILL', 'ID', id);
}

async function evalshaCalls(): Promise<number> {
  const stats = await direct.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

async function streamEntries(relayId: string): Promise<{ kind: string; value: Record<string, unknown> }[]> {
  const entries = (await direct.xrange(keys.stream(relayId), '-', '+')) as [string, string[]][];
  return entries.map(([, fields]) => {
    const entry = parseEntry(fields);
    return { kind: entry.kind, value: entry.value as Record<string, unknown> };
  });
}

describe('peer links (redis mode)', () => {
  it('moves frames from the stream to the link in order, none lost or doubled, and Redis no longer carries them', async () => {
    const a = await relay('relay-a');
    const b = await relay('relay-b');
    // relay-b's stream reader is cut off (it reconnects after its backoff), so
    // frames published before the link sit unread while the link comes up:
    // only the fence keeps the link's frames behind them.
    await killConnection('viewport-relay:relay-b:bus');
    const outcomes: Promise<boolean>[] = [];
    let seq = 0;
    // Publishing starts before any link exists: the first frames take the stream,
    // the first publish starts the dial, and the switch happens mid-burst.
    while ((await metric(a, 'relay_bus_peer_links')) === 0) {
      for (let i = 0; i < 20; i++) outcomes.push(a.backplane.publish(frame('relay-a', 'relay-b', seq++)));
      await new Promise((resolve) => setImmediate(resolve));
      expect(seq).toBeLessThan(100_000);
    }
    const beforeLinkOnly = await evalshaCalls();
    for (let i = 0; i < 500; i++) outcomes.push(a.backplane.publish(frame('relay-a', 'relay-b', seq++)));
    expect(await Promise.all(outcomes)).toEqual(outcomes.map(() => true));
    await waitFor(() => b.received.length >= seq, `relay-b to receive ${seq} frames`);
    expect(b.received.map(seqOf)).toEqual(Array.from({ length: seq }, (_, i) => i));
    expect(await metric(b, 'relay_backplane_reconnects_total')).toBe(1);
    // The 500 frames after the switch were never published to Redis.
    expect((await evalshaCalls()) - beforeLinkOnly).toBe(0);
    expect(b.received.every((f) => f.sourceRelayId === 'relay-a' && f.targetRelayId === 'relay-b')).toBe(true);
  });

  it('carries both directions over two links and settles every publish', async () => {
    const a = await relay('relay-a');
    const b = await relay('relay-b');
    await a.backplane.publish(frame('relay-a', 'relay-b', 0));
    await b.backplane.publish(frame('relay-b', 'relay-a', 0, 'daemon_to_clients'));
    await waitFor(async () => (await metric(a, 'relay_bus_peer_links')) === 1 && (await metric(b, 'relay_bus_peer_links')) === 1, 'both links up');
    const sent = await Promise.all(
      Array.from({ length: 50 }, (_, i) => [a.backplane.publish(frame('relay-a', 'relay-b', i + 1)), b.backplane.publish(frame('relay-b', 'relay-a', i + 1, 'daemon_to_clients'))]).flat(),
    );
    expect(sent.every(Boolean)).toBe(true);
    await waitFor(() => a.received.length === 51 && b.received.length === 51, 'all frames both ways');
    expect(a.received.map(seqOf)).toEqual(b.received.map(seqOf));
  });

  it('never links to a peer that cannot prove the bus key; frames keep going through Redis', async () => {
    const a = await relay('relay-a');
    // An impostor listening where relay-b's peer address points.
    const impostor = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => new Promise<void>((resolve) => impostor.close(() => resolve())));
    await new Promise((resolve) => impostor.once('listening', resolve));
    let framesSeen = 0;
    impostor.on('connection', (ws) => {
      const hello = Buffer.concat([Buffer.from([6]), randomBytes(16), randomBytes(32)]);
      ws.send(hello);
      ws.on('message', () => framesSeen++);
    });
    // Its address is genuinely announced (someone on the path), but it cannot prove the key.
    await announce('relay-b', `ws://127.0.0.1:${(impostor.address() as AddressInfo).port}`);
    for (let i = 0; i < 5; i++) expect(await a.backplane.publish(frame('relay-a', 'relay-b', i))).toBe(true);
    await waitFor(async () => (await metric(a, 'relay_bus_peer_link_dial_failed_total')) >= 1, 'the dial to fail');
    await waitFor(() => impostor.clients.size === 0 && framesSeen === 0, 'the impostor to be dropped');
    expect(await metric(a, 'relay_bus_peer_links')).toBe(0);
    expect(await metric(a, 'relay_bus_peer_link_rejected_total', 'bad_proof')).toBe(1);
    expect(await metric(a, 'relay_bus_pull_invalid_signature_total')).toBe(1);
    expect((await streamEntries('relay-b')).filter((e) => e.kind === 'frame')).toHaveLength(5);
    expect(framesSeen).toBe(0);
  });

  it('a dropped link: unacknowledged frames are reported lost, an unlink and loss markers go ahead of later stream frames', async () => {
    const a = await relay('relay-a');
    // A peer that completes the handshake as relay-b and then never acknowledges.
    const peer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => new Promise<void>((resolve) => peer.close(() => resolve())));
    await new Promise((resolve) => peer.once('listening', resolve));
    const links: WebSocket[] = [];
    let received = 0;
    peer.on('connection', (ws, req) => {
      const url = new URL(req.url ?? '/', 'http://peer');
      const listenerNonce = randomBytes(16);
      const dialerNonce = Buffer.from(url.searchParams.get('nonce') ?? '', 'base64url');
      const proof = linkProof(SUBKEYS.linkProof, 'listener', url.searchParams.get('source') ?? '', 'relay-b', dialerNonce, listenerNonce);
      ws.send(Buffer.concat([Buffer.from([6]), listenerNonce, proof]));
      ws.on('message', () => received++);
      links.push(ws);
    });
    await announce('relay-b', `ws://127.0.0.1:${(peer.address() as AddressInfo).port}`);
    expect(await a.backplane.publish(frame('relay-a', 'relay-b', 0))).toBe(true);
    await waitFor(async () => (await metric(a, 'relay_bus_peer_links')) === 1, 'link up');
    // The fence went to relay-b's stream, behind the frame published before the link.
    expect((await streamEntries('relay-b')).map((e) => e.kind)).toEqual(['frame', 'fence']);

    const toDaemon = [1, 2, 3].map((seq) => a.backplane.publish(frame('relay-a', 'relay-b', seq)));
    const toClients = [4, 5].map((seq) => a.backplane.publish({ ...frame('relay-a', 'relay-b', seq, 'daemon_to_clients'), workspaceId: 'ws-2' }));
    await waitFor(() => received === 1 + 5, 'auth and five frames at the peer');
    for (const ws of links) ws.terminate();
    expect(await Promise.all([...toDaemon, ...toClients])).toEqual([false, false, false, false, false]);
    await waitFor(async () => (await metric(a, 'relay_bus_peer_links')) === 0, 'link down');
    expect(await metric(a, 'relay_bus_publish_failed_total')).toBe(5);

    // The next frame takes the stream again, after the markers.
    expect(await a.backplane.publish(frame('relay-a', 'relay-b', 6))).toBe(true);
    const entries = await streamEntries('relay-b');
    expect(entries.map((e) => e.kind)).toEqual(['frame', 'fence', 'unlink', 'loss', 'frame']);
    expect(entries[3]?.value).toMatchObject({ workspaceId: 'ws-2', direction: 'daemon_to_clients', sourceRelayId: 'relay-a' });
    expect(entries[2]?.value.payload).toBe(entries[1]?.value.payload);
  });

  it.each<[string, 'address_unsigned' | 'address_bad_signature' | 'address_stale' | 'address_malformed', (url: string) => string]>([
    ['a bare URL (unsigned)', 'address_unsigned', (url) => url],
    ['a record signed with another key', 'address_bad_signature', (url) => encodePeerAddress(deriveBusSubkeys('not-the-key').peerAddress, 'relay-b', url, Date.now())],
    ['a record signed with the raw bus key', 'address_bad_signature', (url) => encodePeerAddress(Buffer.from(HMAC_KEY, 'utf8'), 'relay-b', url, Date.now())],
    ['a genuine record of another relay', 'address_bad_signature', (url) => encodePeerAddress(SUBKEYS.peerAddress, 'relay-c', url, Date.now())],
    ['a genuine record whose URL was rewritten', 'address_bad_signature', (url) => JSON.stringify({ ...(JSON.parse(encodePeerAddress(SUBKEYS.peerAddress, 'relay-b', 'ws://127.0.0.1:1', Date.now())) as object), url })],
    ['a genuine record two minutes old (replayed)', 'address_stale', (url) => encodePeerAddress(SUBKEYS.peerAddress, 'relay-b', url, Date.now() - 120_000)],
    ['a record without a version', 'address_malformed', (url) => JSON.stringify({ url, issuedAtMs: Date.now(), signature: 'x' })],
  ])('never dials %s in a peer record; counts it, and frames keep going through Redis', async (_name, reason, record) => {
    const a = await relay('relay-a');
    const trap = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => new Promise<void>((resolve) => trap.close(() => resolve())));
    await new Promise((resolve) => trap.once('listening', resolve));
    let dialled = 0;
    trap.on('connection', () => dialled++);
    await direct.set(keys.peer('relay-b'), record(`ws://127.0.0.1:${(trap.address() as AddressInfo).port}`));
    expect(await a.backplane.publish(frame('relay-a', 'relay-b', 0))).toBe(true);
    await waitFor(async () => (await metric(a, 'relay_bus_peer_link_rejected_total', reason)) === 1, `the record refused as ${reason}`);
    expect(await a.backplane.publish(frame('relay-a', 'relay-b', 1))).toBe(true);
    expect(dialled).toBe(0);
    expect((await streamEntries('relay-b')).filter((e) => e.kind === 'frame')).toHaveLength(2);
  });

  it('announces its own address signed and stamped, and peers link through it', async () => {
    const a = await relay('relay-a');
    const b = await relay('relay-b');
    const record = JSON.parse((await direct.get(keys.peer('relay-b'))) ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({ v: 1, relayId: 'relay-b', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/) });
    expect(Math.abs(Date.now() - (record.issuedAtMs as number))).toBeLessThan(5000);
    await a.backplane.publish(frame('relay-a', 'relay-b', 0));
    await waitFor(async () => (await metric(a, 'relay_bus_peer_links')) === 1, 'the link');
    await a.backplane.publish(frame('relay-a', 'relay-b', 1));
    await waitFor(() => b.received.length === 2, 'both frames');
  });
});
