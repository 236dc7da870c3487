// The Redis BackplaneStore: presence keys, this relay's bus stream and its
// peer links, put together over two connections. The parts live beside it
// (keys, scripts, entry format, presence, bus writer, stream reader, peer-link
// router); this file starts, announces and stops them.
import type { BackplaneDeps, BackplaneOptions } from '../backplane.js';
import { deriveBusSubkeys } from '../keys.js';
import { createLossMarkerSigner } from '../loss-marker.js';
import { backplaneMetrics } from '../metrics.js';
import { createPeerLinkRouter } from '../peer-links/router.js';
import type { BackplaneStore } from '../store.js';
import { throttledWarn } from '../throttled-log.js';
import { createRedisBusWriter } from './bus-writer.js';
import { createDeliveryWatch, parseProgress } from './delivery-watch.js';
import type { RedisBackplaneOptions } from './connection-options.js';
import { openRedisConnections } from './connections.js';
import { redisKeys, streamKeyCache } from './keys.js';
import { createRedisPresence, type PresenceTrust } from './presence.js';
import { createStreamReader } from './stream-reader.js';

const DEFAULT_GENERATION_TTL_MS = 30 * 24 * 3600 * 1000;
/** The heartbeat (liveness and read position), and how long it may lapse before a relay counts as gone. */
const BEAT_MS = 1000;
const DEFAULT_LIVENESS_LAPSE_MS = 5000;
/** Default byte cap of one relay's stream (RELAY_REDIS_QUEUE_MAX_BYTES). */
export const DEFAULT_QUEUE_MAX_BYTES = 64 * 1024 * 1024;
/** Stream entries older than the skew window fail verification anyway, so idle streams may expire. */
const MIN_STREAM_TTL_MS = 60_000;

/**
 * createRedisStore builds the redis-mode store (options.redis must be set);
 * nothing connects before start. Most of its length is wiring the parts
 * together, each of which is a file of its own.
 */
export function createRedisStore(options: BackplaneOptions, deps: BackplaneDeps): BackplaneStore {
  if (!options.redis) throw new Error('redis backplane needs options.redis');
  const redis: RedisBackplaneOptions = options.redis;
  const metrics = backplaneMetrics(deps.registry);
  const keys = redisKeys(redis.keyPrefix);
  const ownStream = keys.stream(options.relayId);
  const streamFor = streamKeyCache(keys);
  const streamTtlMs = Math.max(MIN_STREAM_TTL_MS, 2 * options.busSignatureMaxSkewMs);
  let closed = false;
  const isClosed = () => closed;
  let loop: Promise<void> | undefined;
  // The URL peers dial, once the listener is up (port 0 in tests: the bound port).
  let peerAddress: string | undefined;

  const subkeys = deriveBusSubkeys(options.busHmacKey ?? '');
  const warn = throttledWarn(deps.log, deps.now);
  const presenceTrust: PresenceTrust = {
    key: subkeys.presence,
    now: deps.now,
    maxAgeMs: options.presenceTtlMs + options.busSignatureMaxSkewMs,
    maxSkewMs: options.busSignatureMaxSkewMs,
    onRefused(scope, reason) {
      metrics.presenceRejected.inc({ reason });
      warn('presence_record_refused', { reason, workspaceId: scope.workspaceId });
    },
  };

  const connections = openRedisConnections(redis, options.relayId, deps, metrics, isClosed);
  const { commands } = connections;
  const livenessLapseMs = redis.livenessLapseMs ?? DEFAULT_LIVENESS_LAPSE_MS;
  const watch = redis.confirmDelivery
    ? createDeliveryWatch({
        progress: async (target) => parseProgress(await commands.relayProgress(keys.relays, keys.readPosition(target), streamFor(target))),
        lapseMs: livenessLapseMs,
        now: deps.now,
      })
    : undefined;
  const writer = createRedisBusWriter({
    commands,
    keys,
    streamFor,
    ownStream,
    queueMax: redis.queueMax,
    streamTtlMs,
    presenceTtlMs: options.presenceTtlMs,
    now: deps.now,
    stampLossMarker: createLossMarkerSigner(subkeys.lossMarker),
    livenessLapseMs,
    watch,
    queueMaxBytes: redis.queueMaxBytes ?? DEFAULT_QUEUE_MAX_BYTES,
    onRefused: (cap) => {
      if (cap === 'bytes') metrics.publishRefusedBytes.inc();
    },
  });
  const router = createPeerLinkRouter({
    relayId: options.relayId,
    key: options.busHmacKey ?? '',
    links: redis.peerLinks,
    queueMax: redis.queueMax,
    maxFrameBytes: options.maxFrameBytes,
    // A record is rewritten every third of the TTL; allow the TTL plus the bus's clock skew.
    peerAddressMaxAgeMs: options.presenceTtlMs + options.busSignatureMaxSkewMs,
    streams: { peerAddress: (target) => commands.get(keys.peer(target)), appendMarker: writer.appendMarker },
    metrics,
    registry: deps.registry,
    log: deps.log,
    now: deps.now,
    isClosed,
  });
  const reader = createStreamReader({
    connections,
    keys,
    relayId: options.relayId,
    ownStream,
    queueMax: redis.queueMax,
    metrics,
    log: deps.log,
    isClosed,
    onMarker: router.onMarker,
  });

  // A relay announces its stream and read position once a second while it runs,
  // so broadcasts find it and senders know it is alive (docs/backplane.md#liveness);
  // one that died drops out of the set after the presence TTL.
  let heartbeat: NodeJS.Timeout | undefined;
  async function announce(): Promise<void> {
    const ttl = String(options.presenceTtlMs);
    const redisNowMs = await commands.relayBeat(keys.relays, keys.readPosition(options.relayId), ownStream, reader.position() ?? '', ttl);
    await commands.zremrangebyscore(keys.relays, '-inf', redisNowMs - options.presenceTtlMs);
    if (peerAddress !== undefined) await commands.set(keys.peer(options.relayId), router.signedAddress(peerAddress), 'PX', options.presenceTtlMs);
    await watch?.poll();
  }
  // One beat at a time: a slow Redis must not pile them up (nor settle a frame twice).
  let beating = false;
  function announceInBackground(): void {
    if (beating) return;
    beating = true;
    announce()
      .catch((error: unknown) => deps.log.debug('bus_announce_failed', { mode: 'redis', error: String(error) }))
      .finally(() => {
        beating = false;
      });
  }

  return {
    async start(receive) {
      if (redis.peerLinks) peerAddress = await router.listen(receive);
      // Announce at every connection, not only at the next heartbeat: a relay
      // that reached Redis after it started, or a Redis that restarted empty,
      // would otherwise leave this relay out of broadcasts and without a peer
      // address for up to a third of the presence TTL.
      commands.on('ready', () => {
        if (!closed) announceInBackground();
      });
      await connections.connectAll();
      connections.refreshHealth();
      await announce().catch((error: unknown) => deps.log.warn('bus_announce_failed', { mode: 'redis', error: String(error) }));
      heartbeat = setInterval(announceInBackground, BEAT_MS);
      heartbeat.unref();
      loop = reader.readLoop(receive).catch((error: unknown) => {
        deps.log.error('bus_read_loop_failed', { mode: 'redis', error: String(error) });
      });
    },
    ...createRedisPresence(commands, keys, options.presenceTtlMs, redis.generationTtlMs ?? DEFAULT_GENERATION_TTL_MS, presenceTrust),
    append: writer.append,
    sendLinked: router.sendLinked,
    isHealthy: connections.isHealthy,
    wasHealthy: connections.wasHealthy,
    onRecover: connections.onRecover,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      await commands.zrem(keys.relays, ownStream).catch(() => 0);
      if (redis.peerLinks) await commands.del(keys.peer(options.relayId)).catch(() => 0);
      await router.close();
      watch?.close();
      connections.wakeAll();
      connections.reader.disconnect();
      await Promise.race([
        commands.quit().catch(() => commands.disconnect()),
        new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      commands.disconnect();
      await loop;
      connections.refreshHealth();
    },
  };
}
