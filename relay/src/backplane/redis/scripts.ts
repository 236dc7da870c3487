// The backplane's Lua scripts, each one atomic step in Redis: publish under the
// stream cap (or leave a loss marker), peer-link markers, broadcasts, presence
// upsert and compare-and-delete. Apart so their text and argument order sit
// together, next to the typed commands that call them.
import type { Redis } from 'ioredis';

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
// stream but the sender's, each under its cap (session events, docs/protocol.md#weak-session-events).
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
  busPublish(stream: string, lossGuard: string, ...args: string[]): Promise<number>;
  busMarker(stream: string, ...args: string[]): Promise<number>;
  busBroadcast(relays: string, ...args: string[]): Promise<number>;
  presenceUpsert(presence: string, generation: string, ...args: string[]): Promise<number>;
  presenceRemove(presence: string, generation: string, ...args: string[]): Promise<number>;
};

/** withBackplaneScripts defines the scripts as commands on a connection (ioredis sends them by EVALSHA). */
export function withBackplaneScripts(connection: Redis): ScriptedRedis {
  connection.defineCommand('busPublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
  connection.defineCommand('busMarker', { numberOfKeys: 1, lua: MARKER_SCRIPT });
  connection.defineCommand('busBroadcast', { numberOfKeys: 1, lua: BROADCAST_SCRIPT });
  connection.defineCommand('presenceUpsert', { numberOfKeys: 2, lua: UPSERT_SCRIPT });
  connection.defineCommand('presenceRemove', { numberOfKeys: 2, lua: REMOVE_SCRIPT });
  return connection as ScriptedRedis;
}
