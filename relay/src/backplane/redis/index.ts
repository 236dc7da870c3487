// The redis backplane (docs/backplane.md): the shared remote shell over the
// Redis store. Presence is one key per scope with a TTL, written and
// compare-deleted by Lua scripts, with the daemon generation in a sibling key
// that outlives it (docs/protocol.md#weak-generation-memory). The bus is one Redis Stream per relay, read with
// XREAD BLOCK from the last id seen, and direct peer links beside it.
//
// The directory, by concern:
//   connection-options.ts  URL, TLS, Sentinel -> ioredis options (pure)
//   connections.ts         the commands and bus connections, health, reconnects
//   keys.ts                every key name
//   scripts.ts             the Lua scripts
//   stream-entry.ts        the stream entry format (pure)
//   presence.ts            presence reads and writes
//   bus-writer.ts          publishes, broadcasts, markers
//   stream-reader.ts       the read loop, resync and trims
//   store.ts               the BackplaneStore that puts them together
// The peer links themselves are in ../peer-links/.
import type { Backplane, BackplaneDeps, BackplaneOptions } from '../backplane.js';
import { createRemoteBackplane } from '../remote.js';
import { createRedisStore } from './store.js';

/** createRedisBackplane builds the redis-mode Backplane (options.redis must be set). */
export function createRedisBackplane(options: BackplaneOptions, deps: BackplaneDeps): Backplane {
  return createRemoteBackplane('redis', createRedisStore(options, deps), options, deps, true);
}
