// Redis backplane store. Presence: one key per scope with a TTL, written and
// compare-deleted by Lua scripts; the daemon generation in a sibling key that
// outlives the presence entry (G-5). Bus: one Redis Stream per relay, read with
// XREAD BLOCK on a dedicated connection from the last id seen, so a reader
// reconnect resumes exactly where it stopped (docs/backplane.md has the figures).
import { Redis, type RedisOptions } from 'ioredis';
import type { BackplaneDeps, BackplaneOptions, Backplane, BusFrame, PresenceRecord, ScopeRef } from './backplane.js';
import { parseBusFrame } from './bus-frame.js';
import type { BusEntryKind, BusReceiver } from './bus-receiver.js';
import { isAuthentic, signBusFrame } from './bus-signing.js';
import { backplaneMetrics } from './metrics.js';
import { dialPeerLink, encodeLinkFrame, OutboundLink, startPeerLinkListener, type PeerLinkListener, type PendingFrame } from './peer-link.js';
import { createRemoteBackplane } from './remote.js';
import { scopeKey } from './scope-key.js';
import { disconnectedPresence, type AppendOutcome, type BackplaneStore } from './store.js';

type RedisBackplaneOptions = NonNullable<BackplaneOptions['redis']>;

const DEFAULT_GENERATION_TTL_MS = 30 * 24 * 3600 * 1000;
const READ_BLOCK_MS = 2000;
const READ_COUNT = 200;
/** Peer links: a target is dialled at most this often; pings find a silent peer. */
const PEER_REDIAL_MS = 1000;
const PEER_PING_MS = 5000;
/** The receiver acks after this many frames or this long after the first unacked one (acks only settle publishes, frames never wait for them). */
const PEER_ACK_EVERY = 128;
const PEER_ACK_DELAY_MS = 20;
/** Stream entries older than the skew window fail verification anyway, so idle streams may expire. */
const MIN_STREAM_TTL_MS = 60_000;

// KEYS: stream, loss guard. ARGV: queueMax, streamTtlMs, '1' when a loss
// marker may be written, guard ttl, then the entry's field/value pairs, the
// first being k=f. The stream holds only unread entries (the reader trims what
// it delivered), so XLEN is the backlog: a full stream refuses the frame
// rather than trimming unread ones. A refused frame for clients leaves one
// marker (the same entry with k=l, past the cap, one per guard) that makes the
// reader close those clients: the loss is never silent (docs/backplane.md).
// Returns 1 appended, 2 refused and marked, 0 refused.
const PUBLISH_SCRIPT = `
if redis.call('XLEN', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if ARGV[3] == '1' and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then
  ARGV[6] = 'l'
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
  return 2
end
return 0`;

// KEYS: stream. ARGV: streamTtlMs, then the entry's field/value pairs.
// Appends a peer-link marker (fence or unlink) whatever the backlog: one per
// link, and the link's frames wait for it.
const MARKER_SCRIPT = `
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS: relays. ARGV: heartbeat cutoff, own stream, queueMax, streamTtlMs,
// then the entry's field/value pairs. Appends the frame to every live relay's
// stream but the sender's, each under its cap (session events, G-17).
// Stream names come from the set, so this needs a single Redis, not Cluster.
// Returns how many relays refused it for a full stream.
const BROADCAST_SCRIPT = `
local refused = 0
for _, stream in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if stream ~= ARGV[2] then
    if redis.call('XLEN', stream) < tonumber(ARGV[3]) then
      redis.call('XADD', stream, '*', unpack(ARGV, 5))
      redis.call('PEXPIRE', stream, ARGV[4])
    else
      refused = refused + 1
    end
  end
end
return refused`;

// KEYS: presence, generation. ARGV: json, ttlMs, generation|'' , generationTtlMs.
// Returns 0 without writing when the generation is below the kept one.
const UPSERT_SCRIPT = `
if ARGV[3] ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '-1') or -1
  local proposed = tonumber(ARGV[3])
  if proposed < current then return 0 end
  if proposed > current then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  else
    redis.call('PEXPIRE', KEYS[2], ARGV[4])
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS: presence, generation. ARGV: relayId, generation|'', generationTtlMs.
// Deletes only while the entry still names relayId (G-7).
const REMOVE_SCRIPT = `
if ARGV[2] ~= '' then
  local current = tonumber(redis.call('GET', KEYS[2]) or '-1') or -1
  if tonumber(ARGV[2]) > current then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
end
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, record = pcall(cjson.decode, raw)
if ok and type(record) == 'table' and record.relayId == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

type ScriptedRedis = Redis & {
  busPublish(stream: string, lossGuard: string, ...args: string[]): Promise<number>;
  busMarker(stream: string, ...args: string[]): Promise<number>;
  busBroadcast(relays: string, ...args: string[]): Promise<number>;
  presenceUpsert(presence: string, generation: string, ...args: string[]): Promise<number>;
  presenceRemove(presence: string, generation: string, ...args: string[]): Promise<number>;
};

/**
 * sentinelAddresses reads Sentinel mode from the URL: `?sentinel=<master name>`
 * makes the URL's host the first Sentinel, and each `sentinelHost=host:port`
 * adds another. Null when the URL names a Redis server directly.
 */
export function sentinelAddresses(url: URL): { name: string; sentinels: { host: string; port: number }[] } | null {
  const name = url.searchParams.get('sentinel');
  if (!name) return null;
  const parse = (hostPort: string) => {
    const at = hostPort.lastIndexOf(':');
    const host = (at > 0 ? hostPort.slice(0, at) : hostPort).replace(/^\[(.*)\]$/, '$1');
    return { host, port: at > 0 ? Number(hostPort.slice(at + 1)) : 26379 };
  };
  const first = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 26379 };
  return { name, sentinels: [first, ...url.searchParams.getAll('sentinelHost').map(parse)] };
}

/**
 * redisConnectionOptions maps the backplane's Redis settings to ioredis options
 * for one connection. Pure, so URL, TLS, password and Sentinel handling are unit-tested.
 */
export function redisConnectionOptions(redis: RedisBackplaneOptions, connectionName: string): RedisOptions {
  const url = new URL(redis.url);
  const isTls = url.protocol === 'rediss:';
  const db = Number.parseInt(url.pathname.replace(/^\//, '') || '0', 10);
  const base = redis.reconnectBaseMs ?? 250;
  const max = redis.reconnectMaxMs ?? 10_000;
  const password = redis.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const tls = redis.tls;
  const retryStrategy = (attempt: number) => Math.min(base * 2 ** Math.max(0, attempt - 1), max);
  const sentinel = sentinelAddresses(url);
  return {
    ...(sentinel
      ? { sentinels: sentinel.sentinels, name: sentinel.name, sentinelRetryStrategy: retryStrategy, enableTLSForSentinelMode: isTls }
      : { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 6379 }),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    db: Number.isInteger(db) ? db : 0,
    connectionName,
    connectTimeout: redis.connectTimeoutMs,
    keepAlive: 5000,
    lazyConnect: true,
    // Fail fast while disconnected: a publish then returns false and the relay
    // answers DAEMON_UNAVAILABLE instead of queueing frames without bound.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy,
    tls: isTls
      ? {
          // Behind Sentinel the URL names a Sentinel, not the server whose certificate is checked.
          servername: tls?.servername ?? (sentinel ? undefined : url.hostname),
          ca: tls?.ca,
          cert: tls?.cert,
          key: tls?.key,
          passphrase: tls?.passphrase,
          rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        }
      : undefined,
  };
}

/** redisKeys are the key names of one relay's backplane under prefix. */
export function redisKeys(prefix: string) {
  return {
    presence: (scope: ScopeRef) => `${prefix}:presence:${scopeKey(scope)}`,
    generation: (scope: ScopeRef) => `${prefix}:generation:${scopeKey(scope)}`,
    stream: (relayId: string) => `${prefix}:stream:${encodeURIComponent(relayId)}`,
    /** The URL a relay's peer links are dialled at, while it runs. */
    peer: (relayId: string) => `${prefix}:peer:${encodeURIComponent(relayId)}`,
    /** Sorted set of live relays' stream keys, scored by their last heartbeat (for broadcasts). */
    relays: `${prefix}:relays`,
    /** Set while a loss marker from sourceRelayId for the scope is unread in targetRelayId's stream. */
    lossGuard: (targetRelayId: string, sourceRelayId: string, scope: ScopeRef) =>
      `${prefix}:loss:${encodeURIComponent(targetRelayId)}:${encodeURIComponent(sourceRelayId)}:${scopeKey(scope)}`,
  };
}

/** compareStreamIds orders Redis stream ids "ms-seq" numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map((part) => BigInt(part));
  const [bMs = 0n, bSeq = 0n] = b.split('-').map((part) => BigInt(part));
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

function parseStoredPresence(raw: string | null, scope: ScopeRef): PresenceRecord | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Record<string, unknown>;
    if (typeof value.relayId !== 'string' || typeof value.relayWsBaseUrl !== 'string') return null;
    return {
      workspaceId: scope.workspaceId,
      runtimeTargetId: scope.runtimeTargetId,
      relayId: value.relayId,
      relayWsBaseUrl: value.relayWsBaseUrl,
      daemonConnected: value.daemonConnected === true,
      machineId: typeof value.machineId === 'string' ? value.machineId : undefined,
      updatedAtMs: typeof value.updatedAtMs === 'number' ? value.updatedAtMs : 0,
    };
  } catch {
    return null;
  }
}

function parseGeneration(raw: string | null): number | null {
  if (raw === null) return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/**
 * StreamEntryKind adds the peer-link markers to the bus kinds: a fence (every
 * bus frame the link's sender published before it is in the stream ahead of
 * it) and an unlink (the sender gave the link up).
 */
export type StreamEntryKind = 'frame' | 'loss' | 'fence' | 'unlink';

const ENTRY_KINDS: Record<string, StreamEntryKind> = { f: 'frame', l: 'loss', x: 'fence', u: 'unlink' };
const KIND_CODES: Record<StreamEntryKind, string> = { frame: 'f', loss: 'l', fence: 'x', unlink: 'u' };

/** StreamEntry is one decoded stream entry: a frame, a marker for frames refused after it, or a peer-link marker. */
export interface StreamEntry {
  readonly kind: StreamEntryKind;
  readonly value: unknown;
}

/**
 * entryFields lays a signed frame out as stream field/value pairs, kind first:
 * no JSON round trip, so the payload is neither escaped nor parsed twice.
 */
export function entryFields(frame: BusFrame, kind: StreamEntryKind = 'frame'): string[] {
  const fields = ['k', KIND_CODES[kind], 'w', frame.workspaceId, 'r', frame.runtimeTargetId, 's', frame.sourceRelayId, 'd', frame.direction];
  if (frame.machineId !== undefined) fields.push('m', frame.machineId);
  if (frame.targetRelayId !== null) fields.push('t', frame.targetRelayId);
  if (frame.issuedAtMs !== undefined) fields.push('i', String(frame.issuedAtMs));
  if (frame.signature !== undefined) fields.push('g', frame.signature);
  fields.push('p', frame.payload);
  return fields;
}

const FIELD_NAMES: Record<string, string> = {
  w: 'workspaceId',
  r: 'runtimeTargetId',
  s: 'sourceRelayId',
  d: 'direction',
  m: 'machineId',
  t: 'targetRelayId',
  g: 'signature',
  p: 'payload',
};

/** parseEntry decodes an entry written by entryFields, or a single JSON field 'f'/'l' (earlier relays, tests). */
export function parseEntry(fields: string[]): StreamEntry {
  if (fields[0] === 'f' || fields[0] === 'l') {
    const kind: BusEntryKind = fields[0] === 'l' ? 'loss' : 'frame';
    try {
      return { kind, value: JSON.parse(fields[1] ?? '') as unknown };
    } catch {
      return { kind, value: undefined };
    }
  }
  const kind = fields[0] === 'k' ? ENTRY_KINDS[fields[1] ?? ''] : undefined;
  if (kind === undefined) return { kind: 'frame', value: undefined };
  const value: Record<string, unknown> = {};
  for (let i = 2; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const text = fields[i + 1] as string;
    if (name === 'i') value.issuedAtMs = Number(text);
    else {
      const field = FIELD_NAMES[name];
      if (field !== undefined) value[field] = text;
    }
  }
  // No t field: the frame named no target relay (null, as in the JSON form).
  if (value.targetRelayId === undefined) value.targetRelayId = null;
  return { kind, value };
}

/** lossScope reads the guard-key parts of a marker, or null when they are not strings. */
function lossScope(value: unknown): { scope: ScopeRef; sourceRelayId: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { workspaceId, runtimeTargetId, sourceRelayId } = value as Record<string, unknown>;
  if (typeof workspaceId !== 'string' || typeof runtimeTargetId !== 'string' || typeof sourceRelayId !== 'string') return null;
  return { scope: { workspaceId, runtimeTargetId }, sourceRelayId };
}

/** createRedisBackplane builds the redis-mode Backplane (options.redis must be set). */
export function createRedisBackplane(options: BackplaneOptions, deps: BackplaneDeps): Backplane {
  return createRemoteBackplane('redis', createRedisStore(options, deps), options, deps, true);
}

function createRedisStore(options: BackplaneOptions, deps: BackplaneDeps): BackplaneStore {
  if (!options.redis) throw new Error('redis backplane needs options.redis');
  const redis: RedisBackplaneOptions = options.redis;
  const metrics = backplaneMetrics(deps.registry);
  const keys = redisKeys(redis.keyPrefix);
  const ownStream = keys.stream(options.relayId);
  const generationTtlMs = redis.generationTtlMs ?? DEFAULT_GENERATION_TTL_MS;
  const streamTtlMs = Math.max(MIN_STREAM_TTL_MS, 2 * options.busSignatureMaxSkewMs);
  // Not auto-pipelined: ioredis keeps one auto-pipeline in flight, so a publish
  // would wait for the previous batch's round trip (measured: p50 0.15 ms
  // without, 0.31-0.38 ms with). Plain commands are pipelined by Redis anyway.
  const commands = new Redis(redisConnectionOptions(redis, `viewport-relay:${options.relayId}:commands`)) as ScriptedRedis;
  const reader = new Redis(redisConnectionOptions(redis, `viewport-relay:${options.relayId}:bus`));
  commands.defineCommand('busPublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
  commands.defineCommand('busMarker', { numberOfKeys: 1, lua: MARKER_SCRIPT });
  commands.defineCommand('busBroadcast', { numberOfKeys: 1, lua: BROADCAST_SCRIPT });
  commands.defineCommand('presenceUpsert', { numberOfKeys: 2, lua: UPSERT_SCRIPT });
  commands.defineCommand('presenceRemove', { numberOfKeys: 2, lua: REMOVE_SCRIPT });

  let closed = false;
  let loop: Promise<void> | undefined;
  // Last stream id handed to the receiver; undefined until the first connect.
  let lastId: string | undefined;
  let needsResync = true;
  const wakeups = new Set<() => void>();
  // Entries delivered since the last trim: the stream may hold up to trimEvery read entries besides the unread.
  let deliveredSinceTrim = 0;
  const trimEvery = Math.max(1, Math.min(64, Math.floor(redis.queueMax / 16)));
  // targetRelayId -> stream key; relay ids are few, the cap only guards against churn.
  const streamKeys = new Map<string, string>();
  const recoverListeners: (() => void)[] = [];

  // Peer links (docs/backplane.md, "Peer links"): outbound by target relay,
  // the inbound listener, and when a target may be dialled again.
  const peerLinks = redis.peerLinks;
  const busKey = options.busHmacKey ?? '';
  const busKeyBytes = Buffer.from(busKey, 'utf8');
  const outbound = new Map<string, OutboundLink<BusFrame>>();
  const dialing = new Set<string>();
  const redialAtMs = new Map<string, number>();
  let listener: PeerLinkListener | undefined;
  // The URL peers dial, once the listener is up (port 0 in tests: the bound port).
  let peerAddress: string | undefined;

  function streamFor(target: string): string {
    let stream = streamKeys.get(target);
    if (stream === undefined) {
      if (streamKeys.size >= 1024) streamKeys.clear();
      stream = keys.stream(target);
      streamKeys.set(target, stream);
    }
    return stream;
  }

  /** writeMarker appends a signed fence or unlink for link `nonce` to target's stream. */
  function writeMarker(target: string, kind: 'fence' | 'unlink', nonce: string): Promise<number> {
    const marker = signBusFrame(
      { workspaceId: '-', runtimeTargetId: '-', sourceRelayId: options.relayId, targetRelayId: target, direction: 'client_to_daemon', payload: nonce },
      busKey,
      deps.now(),
    );
    return commands.busMarker(streamFor(target), String(streamTtlMs), ...entryFields(marker, kind));
  }

  /**
   * activeLink is the open link to target, or undefined (and a dial starts when
   * none is under way). A link that closed is abandoned first, so its markers
   * precede the next bus frame even before its 'close' event has run.
   */
  function activeLink(target: string): OutboundLink<BusFrame> | undefined {
    const link = outbound.get(target);
    if (link !== undefined) {
      if (link.isOpen()) return link;
      link.abandon();
    }
    if (peerLinks && !closed && !dialing.has(target) && deps.now() >= (redialAtMs.get(target) ?? 0)) void dial(target);
    return undefined;
  }

  async function dial(target: string): Promise<void> {
    dialing.add(target);
    redialAtMs.set(target, deps.now() + PEER_REDIAL_MS);
    try {
      const url = await commands.get(keys.peer(target));
      if (!url || closed) return;
      const { ws, nonce } = await dialPeerLink({ url, sourceRelayId: options.relayId, targetRelayId: target, key: busKey, timeoutMs: 5000 });
      if (closed) {
        ws.terminate();
        return;
      }
      const link = new OutboundLink<BusFrame>(target, nonce, ws, PEER_PING_MS);
      link.onLost((unacked) => linkLost(link, unacked));
      outbound.set(target, link);
      // Issued on the command connection after every bus publish to target so
      // far, so in the stream the fence follows them; the receiver holds this
      // link's frames until it reads the fence. From here on, frames for the
      // target take the link.
      writeMarker(target, 'fence', nonce).catch((error: unknown) => {
        deps.log('warn', 'peer_link_fence_failed', { targetRelayId: target, error: String(error) });
        link.abandon();
      });
      metrics.peerLinks.inc();
      deps.log('info', 'peer_link_up', { targetRelayId: target });
    } catch (error) {
      metrics.peerLinkDialFailed.inc();
      deps.log('debug', 'peer_link_dial_failed', { targetRelayId: target, error: String(error) });
    } finally {
      dialing.delete(target);
    }
  }

  // A dropped link's unacknowledged frames may or may not have arrived. In
  // the target's stream, ahead of any later bus frame: an unlink (data of the
  // old link read after it must not count) and a loss marker per scope with
  // frames for clients among them; client frames are reported unavailable.
  function linkLost(link: OutboundLink<BusFrame>, unacked: PendingFrame<BusFrame>[]): void {
    if (outbound.get(link.targetRelayId) === link) outbound.delete(link.targetRelayId);
    redialAtMs.set(link.targetRelayId, deps.now() + PEER_REDIAL_MS);
    metrics.peerLinks.dec();
    deps.log(closed ? 'info' : 'warn', 'peer_link_down', { targetRelayId: link.targetRelayId, unacked: unacked.length });
    if (!closed) {
      const stream = streamFor(link.targetRelayId);
      const failed = (error: unknown) => deps.log('warn', 'peer_link_marker_failed', { targetRelayId: link.targetRelayId, error: String(error) });
      writeMarker(link.targetRelayId, 'unlink', link.nonce).catch(failed);
      const marked = new Set<string>();
      for (const { frame } of unacked) {
        if (frame.direction !== 'daemon_to_clients') continue;
        const id = scopeKey(frame);
        if (marked.has(id)) continue;
        marked.add(id);
        const marker = signBusFrame(frame, busKey, deps.now());
        metrics.lossMarked.inc();
        commands.busMarker(stream, String(streamTtlMs), ...entryFields(marker, 'loss')).catch(failed);
      }
    }
    for (const { settle } of unacked) settle(false);
  }

  // The peer has not acknowledged RELAY_REDIS_QUEUE_MAX frames (a stalled
  // relay): refuse as a full stream would. Frames for clients leave one loss
  // marker per scope on the link itself, behind the frames still in flight, and
  // another only once the peer has acknowledged past it.
  const lossMarks = new WeakMap<OutboundLink<BusFrame>, Map<string, number>>();
  function refuseOnLink(link: OutboundLink<BusFrame>, frame: BusFrame): AppendOutcome {
    if (frame.direction !== 'daemon_to_clients') return 'refused';
    let marks = lossMarks.get(link);
    if (marks === undefined) lossMarks.set(link, (marks = new Map()));
    const id = scopeKey(frame);
    const at = marks.get(id);
    if (at !== undefined && link.ackedCount() <= at) return 'refused';
    if (marks.size >= 1024) marks.clear();
    marks.set(id, link.sentCount());
    link.send(frame, encodeLinkFrame(frame, 'loss'), () => undefined);
    return 'refused_marked';
  }

  /** peerMarker acts on a fence or unlink read from the stream, once its signature holds. */
  function peerMarker(kind: 'fence' | 'unlink', value: unknown): void {
    const marker = parseBusFrame(value);
    if (!listener || !marker || marker.targetRelayId !== options.relayId || !isAuthentic(marker, busKeyBytes)) {
      deps.log('debug', 'peer_link_marker_rejected', { kind });
      return;
    }
    if (kind === 'fence') listener.fence(marker.sourceRelayId, marker.payload);
    else listener.unlink(marker.sourceRelayId, marker.payload);
  }

  function refreshHealth(): void {
    metrics.healthy.set(isHealthy() ? 1 : 0);
  }

  function isHealthy(): boolean {
    return !closed && commands.status === 'ready' && reader.status === 'ready';
  }

  for (const [name, connection] of [
    ['commands', commands],
    ['bus', reader],
  ] as const) {
    let wasReady = false;
    connection.on('ready', () => {
      const wasReadyBefore = wasReady;
      if (wasReady) {
        metrics.reconnects.inc();
        deps.log('info', 'backplane_reconnected', { mode: 'redis', connection: name });
      }
      wasReady = true;
      if (connection === reader) needsResync = true;
      if (connection === commands && wasReadyBefore) for (const listener of recoverListeners) listener();
      refreshHealth();
      for (const wake of [...wakeups]) wake();
    });
    connection.on('close', () => {
      refreshHealth();
      if (!closed) deps.log('warn', 'backplane_disconnected', { mode: 'redis', connection: name });
    });
    // ioredis retries by itself; the listener keeps errors from becoming unhandled.
    connection.on('error', (error: Error) => {
      deps.log('debug', 'backplane_connection_error', { mode: 'redis', connection: name, error: error.message });
    });
  }

  /** Waits for the reader to be ready, a reconnect, or close; capped so the loop re-checks. */
  function waitForChange(maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeups.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      wakeups.add(done);
    });
  }

  // Decide where to resume after (re)connecting: the stream tail on first
  // start; the beginning if the stream vanished (Redis restarted empty or the
  // stream expired) or went backwards; otherwise keep lastId.
  async function resync(): Promise<void> {
    if (lastId === undefined) {
      const tail = (await reader.xrevrange(ownStream, '+', '-', 'COUNT', 1)) as [string, string[]][];
      lastId = tail[0]?.[0] ?? '0-0';
      return;
    }
    const info = (await reader.call('XINFO', 'STREAM', ownStream).catch((error: unknown) => {
      if (String(error).includes('no such key')) return null;
      throw error;
    })) as unknown[] | null;
    if (!info) {
      lastId = '0-0';
      return;
    }
    const at = info.indexOf('last-generated-id');
    const lastGenerated = at >= 0 ? String(info[at + 1]) : '0-0';
    if (compareStreamIds(lastGenerated, lastId) < 0) lastId = '0-0';
  }

  async function readLoop(receive: BusReceiver): Promise<void> {
    while (!closed) {
      if (reader.status !== 'ready') {
        await waitForChange(1000);
        continue;
      }
      try {
        if (needsResync) {
          await resync();
          needsResync = false;
        }
        const result = (await reader.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', ownStream, lastId ?? '$')) as
          | [string, [string, string[]][]][]
          | null;
        metrics.pullOk.inc();
        const before = lastId;
        for (const [, entries] of result ?? []) {
          for (const [id, fields] of entries) {
            lastId = id;
            deliveredSinceTrim += 1;
            const entry = parseEntry(fields);
            if (entry.kind === 'fence' || entry.kind === 'unlink') {
              peerMarker(entry.kind, entry.value);
              continue;
            }
            if (entry.kind === 'loss') releaseLossGuard(entry.value);
            receive(entry.value, entry.kind);
          }
        }
        // Trim in steps, not per read: under moderate load a read returns one
        // entry, and a trim each would double the reader's commands.
        if (lastId !== undefined && deliveredSinceTrim > 0 && (deliveredSinceTrim >= trimEvery || lastId === before)) {
          deliveredSinceTrim = 0;
          trimDelivered(lastId);
        }
      } catch (error) {
        if (closed) break;
        metrics.pullFailed.inc();
        deps.log('warn', 'bus_read_failed', { mode: 'redis', error: String(error) });
        needsResync = true;
        // Avoid a hot loop when Redis answers with an error while connected.
        await waitForChange(reader.status === 'ready' ? 250 : 1000);
      }
    }
  }

  // Delivered entries leave the stream, so its length is the unread backlog the
  // publish script compares with the cap. Off the read path; a failed trim is
  // retried by the next batch's.
  function trimDelivered(upToId: string): void {
    commands.xtrim(ownStream, 'MINID', upToId).catch((error: unknown) => {
      deps.log('debug', 'bus_trim_failed', { mode: 'redis', error: String(error) });
    });
  }

  // The marker is read: a later refusal for the scope must leave a new one.
  function releaseLossGuard(value: unknown): void {
    const parts = lossScope(value);
    if (!parts) return;
    commands.del(keys.lossGuard(options.relayId, parts.sourceRelayId, parts.scope)).catch((error: unknown) => {
      deps.log('debug', 'bus_loss_guard_release_failed', { mode: 'redis', error: String(error) });
    });
  }

  // A relay announces its stream while it runs, so broadcasts find it; one that
  // died drops out after the presence TTL.
  let heartbeat: NodeJS.Timeout | undefined;
  async function announce(): Promise<void> {
    const nowMs = deps.now();
    await commands.zadd(keys.relays, nowMs, ownStream);
    await commands.zremrangebyscore(keys.relays, '-inf', nowMs - options.presenceTtlMs);
    if (peerAddress !== undefined) await commands.set(keys.peer(options.relayId), peerAddress, 'PX', options.presenceTtlMs);
  }
  function announceInBackground(): void {
    announce().catch((error: unknown) => deps.log('debug', 'bus_announce_failed', { mode: 'redis', error: String(error) }));
  }

  async function connect(connection: Redis, name: string): Promise<void> {
    try {
      await connection.connect();
    } catch (error) {
      // ioredis keeps retrying with the backoff; start does not fail the relay.
      deps.log('warn', 'backplane_connect_failed', { mode: 'redis', connection: name, error: String(error) });
    }
  }

  return {
    async start(receive) {
      if (peerLinks) {
        listener = await startPeerLinkListener({
          relayId: options.relayId,
          key: busKey,
          host: peerLinks.host,
          port: peerLinks.port,
          // The payload plus the entry's other fields.
          maxMessageBytes: options.maxFrameBytes + 64 * 1024,
          // The sender stops at queueMax unacknowledged frames, plus at most one loss marker per scope.
          maxHeld: redis.queueMax + 2048,
          ackEvery: PEER_ACK_EVERY,
          ackDelayMs: PEER_ACK_DELAY_MS,
          deliver: (frame, loss) => receive(frame, loss ? 'linked_loss' : 'linked'),
          log: deps.log,
        });
        const url = new URL(peerLinks.url);
        if (peerLinks.port === 0) url.port = String(listener.port());
        peerAddress = url.toString().replace(/\/$/, '');
      }
      await Promise.all([connect(commands, 'commands'), connect(reader, 'bus')]);
      refreshHealth();
      await announce().catch((error: unknown) => deps.log('warn', 'bus_announce_failed', { mode: 'redis', error: String(error) }));
      heartbeat = setInterval(announceInBackground, Math.max(1000, Math.floor(options.presenceTtlMs / 3)));
      heartbeat.unref();
      loop = readLoop(receive).catch((error: unknown) => {
        deps.log('error', 'bus_read_loop_failed', { mode: 'redis', error: String(error) });
      });
    },
    async writePresence(record) {
      const value = JSON.stringify({
        relayId: record.relayId,
        relayWsBaseUrl: record.relayWsBaseUrl,
        daemonConnected: true,
        runtimeTargetId: record.runtimeTargetId,
        machineId: record.machineId,
        updatedAtMs: record.updatedAtMs,
      });
      const written = await commands.presenceUpsert(
        keys.presence(record),
        keys.generation(record),
        value,
        String(options.presenceTtlMs),
        record.daemonIssueGeneration === undefined ? '' : String(record.daemonIssueGeneration),
        String(generationTtlMs),
      );
      return written === 1 ? 'written' : 'stale';
    },
    async deletePresence(scope, relayId, generation) {
      await commands.presenceRemove(
        keys.presence(scope),
        keys.generation(scope),
        relayId,
        generation === undefined ? '' : String(generation),
        String(generationTtlMs),
      );
    },
    async readPresence(scope) {
      const [raw, generation] = await commands.mget(keys.presence(scope), keys.generation(scope));
      const record = parseStoredPresence(raw ?? null, scope);
      const kept = parseGeneration(generation ?? null);
      if (!record) return kept === null ? null : disconnectedPresence(scope, kept);
      return kept === null ? record : { ...record, daemonIssueGeneration: kept };
    },
    async readGeneration(scope) {
      return parseGeneration(await commands.get(keys.generation(scope)));
    },
    async append(frame) {
      // No target: a session event for every other live relay (G-17).
      const target = frame.targetRelayId;
      if (!target) {
        const refused = await commands.busBroadcast(
          keys.relays,
          String(deps.now() - options.presenceTtlMs),
          ownStream,
          String(redis.queueMax),
          String(streamTtlMs),
          ...entryFields(frame),
        );
        return refused === 0 ? 'appended' : 'refused';
      }
      const stream = streamFor(target);
      const toClients = frame.direction === 'daemon_to_clients';
      const outcome = await commands.busPublish(
        stream,
        // Only frames for clients may leave a marker; others pass any key, unused.
        toClients ? keys.lossGuard(target, frame.sourceRelayId, frame) : stream,
        String(redis.queueMax),
        String(streamTtlMs),
        toClients ? '1' : '0',
        String(streamTtlMs),
        ...entryFields(frame),
      );
      return outcome === 1 ? 'appended' : outcome === 2 ? 'refused_marked' : 'refused';
    },
    sendLinked(frame) {
      const target = frame.targetRelayId;
      const link = peerLinks && target ? activeLink(target) : undefined;
      if (!link) return undefined;
      if (link.unacked() >= redis.queueMax) return Promise.resolve(refuseOnLink(link, frame));
      let data: Buffer;
      try {
        data = encodeLinkFrame(frame);
      } catch {
        // An id past 64 KiB (the upgrade never admits one): refused, never sent around the link.
        return Promise.resolve('refused');
      }
      return new Promise((resolve) => link.send(frame, data, (delivered) => resolve(delivered ? 'appended' : 'lost')));
    },
    isHealthy,
    onRecover: (listener) => recoverListeners.push(listener),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      await commands.zrem(keys.relays, ownStream).catch(() => 0);
      if (peerLinks) await commands.del(keys.peer(options.relayId)).catch(() => 0);
      for (const link of [...outbound.values()]) link.close(1001, 'relay stopping');
      await listener?.close();
      for (const wake of [...wakeups]) wake();
      reader.disconnect();
      await Promise.race([
        commands.quit().catch(() => commands.disconnect()),
        new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      commands.disconnect();
      await loop;
      refreshHealth();
    },
  };
}
