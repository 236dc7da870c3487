// The backplane's Lua scripts, each one atomic step in Redis: publish under the
// stream cap (or leave a loss marker), peer-link markers, broadcasts, presence
// upsert and compare-and-delete. Apart so their text and argument order sit
// together, next to the typed commands that call them.
import type { Redis } from 'ioredis';

// Redis's own clock in ms: every relay's heartbeat is scored and judged on it,
// so relays whose clocks differ still agree on who is alive.
const REDIS_NOW_MS = `local now_t = redis.call('TIME')
local now_ms = tonumber(now_t[1]) * 1000 + math.floor(tonumber(now_t[2]) / 1000)`;

// KEYS: stream, loss guard, relays. ARGV: queueMax, streamTtlMs, '1' when a
// loss marker may be written, guard ttl, liveness lapse ms, queueMaxBytes,
// the entry's size, then its field/value pairs, the first being k=f.
// A target whose heartbeat is older than the lapse is gone: its frames are
// refused, never parked for no one (docs/backplane.md#liveness). The stream
// holds only unread entries (the reader trims what it delivered), so XLEN is
// the backlog, and the stream's byte counter (KEYS[1]..':bytes', raised here,
// lowered by the reader) its approximate size: a stream full by either refuses
// the frame rather than trimming unread ones. A refused frame for clients
// leaves one marker (the same entry with k=l, past the cap, one per guard)
// that makes the reader close those clients: the loss is never silent
// (docs/backplane.md). Returns the entry id when appended; refused: 0 (frames
// cap), 4 (bytes cap), 2 and 5 the same with a marker left; 3 the target is gone.
const PUBLISH_SCRIPT = `
local beat = redis.call('ZSCORE', KEYS[3], KEYS[1])
if beat then
  ${REDIS_NOW_MS}
  if now_ms - tonumber(beat) > tonumber(ARGV[5]) then return 3 end
end
local bytes_key = KEYS[1] .. ':bytes'
local size = tonumber(ARGV[7])
local over_bytes = (tonumber(redis.call('GET', bytes_key) or '0') or 0) + size > tonumber(ARGV[6])
if not over_bytes and redis.call('XLEN', KEYS[1]) < tonumber(ARGV[1]) then
  local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 8))
  redis.call('INCRBY', bytes_key, size)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', bytes_key, ARGV[2])
  return id
end
if ARGV[3] == '1' and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then
  ARGV[9] = 'l'
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, 8))
  if over_bytes then return 5 end
  return 2
end
if over_bytes then return 4 end
return 0`;

// KEYS: relays, this relay's read position. ARGV: own stream, last id read or
// '', position ttl. The heartbeat: scored with Redis's clock, and the read
// position senders settle their appended frames against (delivery-watch.ts).
const BEAT_SCRIPT = `
${REDIS_NOW_MS}
redis.call('ZADD', KEYS[1], now_ms, ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
return now_ms`;

// KEYS: relays, the target's read position. ARGV: the target's stream. Returns
// the age of its heartbeat in ms (-1 without one) and its read position ('' without one).
const PROGRESS_SCRIPT = `
${REDIS_NOW_MS}
local beat = redis.call('ZSCORE', KEYS[1], ARGV[1])
local age = -1
if beat then age = now_ms - tonumber(beat) end
return { age, redis.call('GET', KEYS[2]) or '' }`;

// KEYS: stream. ARGV: streamTtlMs, then the entry's field/value pairs.
// Appends a peer-link marker (fence or unlink) whatever the backlog: one per
// link, and the link's frames wait for it.
const MARKER_SCRIPT = `
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS: relays. ARGV: heartbeat cutoff, own stream, queueMax, streamTtlMs,
// queueMaxBytes, the entry's size, then the entry's field/value pairs. Appends
// the frame to every live relay's stream but the sender's, each under its caps
// (session events, docs/protocol.md#weak-session-events). Stream names come
// from the set, so this needs a single Redis, not Cluster. Returns how many
// relays refused it for a full stream.
const BROADCAST_SCRIPT = `
local refused = 0
local size = tonumber(ARGV[6])
for _, stream in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if stream ~= ARGV[2] then
    local bytes_key = stream .. ':bytes'
    local used = tonumber(redis.call('GET', bytes_key) or '0') or 0
    if used + size <= tonumber(ARGV[5]) and redis.call('XLEN', stream) < tonumber(ARGV[3]) then
      redis.call('XADD', stream, '*', unpack(ARGV, 7))
      redis.call('INCRBY', bytes_key, size)
      redis.call('PEXPIRE', stream, ARGV[4])
      redis.call('PEXPIRE', bytes_key, ARGV[4])
    else
      refused = refused + 1
    end
  end
end
return refused`;

// KEYS: stream. ARGV: bytes read. Lowers the stream's byte counter by what its
// reader delivered, never below zero.
const RELEASE_BYTES_SCRIPT = `
local key = KEYS[1] .. ':bytes'
local left = redis.call('DECRBY', key, ARGV[1])
if left <= 0 then redis.call('DEL', key) end
return left`;

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
// Deletes only while the entry still names relayId (docs/protocol.md#weak-presence-delete).
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

/** ScriptedRedis is a connection with the scripts below defined as commands. */
export type ScriptedRedis = Redis & {
  busPublish(stream: string, lossGuard: string, relays: string, ...args: string[]): Promise<number | string>;
  releaseBytes(stream: string, bytes: string): Promise<number>;
  relayBeat(relays: string, readPosition: string, ...args: string[]): Promise<number>;
  relayProgress(relays: string, readPosition: string, stream: string): Promise<[number, string]>;
  busMarker(stream: string, ...args: string[]): Promise<number>;
  busBroadcast(relays: string, ...args: string[]): Promise<number>;
  presenceUpsert(presence: string, generation: string, ...args: string[]): Promise<number>;
  presenceRemove(presence: string, generation: string, ...args: string[]): Promise<number>;
};

/** withBackplaneScripts defines the scripts as commands on a connection (ioredis sends them by EVALSHA). */
export function withBackplaneScripts(connection: Redis): ScriptedRedis {
  connection.defineCommand('busPublish', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
  connection.defineCommand('releaseBytes', { numberOfKeys: 1, lua: RELEASE_BYTES_SCRIPT });
  connection.defineCommand('relayBeat', { numberOfKeys: 2, lua: BEAT_SCRIPT });
  connection.defineCommand('relayProgress', { numberOfKeys: 2, lua: PROGRESS_SCRIPT });
  connection.defineCommand('busMarker', { numberOfKeys: 1, lua: MARKER_SCRIPT });
  connection.defineCommand('busBroadcast', { numberOfKeys: 1, lua: BROADCAST_SCRIPT });
  connection.defineCommand('presenceUpsert', { numberOfKeys: 2, lua: UPSERT_SCRIPT });
  connection.defineCommand('presenceRemove', { numberOfKeys: 2, lua: REMOVE_SCRIPT });
  return connection as ScriptedRedis;
}
