// The Redis key names of the backplane, in one place: presence, generations,
// bus streams, peer-link addresses, the live-relay set and loss guards. Every
// relay must compute the same names, so they live apart from their users.
import type { ScopeRef } from '../../bus/types.js';
import { scopeKey } from '../scope-key.js';

/** redisKeys are the key names of one relay's backplane under prefix. */
export function redisKeys(prefix: string) {
  return {
    presence: (scope: ScopeRef) => `${prefix}:presence:${scopeKey(scope)}`,
    generation: (scope: ScopeRef) => `${prefix}:generation:${scopeKey(scope)}`,
    stream: (relayId: string) => `${prefix}:stream:${encodeURIComponent(relayId)}`,
    /** The URL a relay's peer links are dialled at, while it runs. */
    peer: (relayId: string) => `${prefix}:peer:${encodeURIComponent(relayId)}`,
    /** The last stream id a relay's reader delivered, refreshed with its heartbeat (docs/backplane.md#liveness). */
    readPosition: (relayId: string) => `${prefix}:read:${encodeURIComponent(relayId)}`,
    /** Sorted set of live relays' stream keys, scored by their last heartbeat in Redis's clock (broadcasts, liveness). */
    relays: `${prefix}:relays`,
    /** Set while a loss marker from sourceRelayId for the scope is unread in targetRelayId's stream. */
    lossGuard: (targetRelayId: string, sourceRelayId: string, scope: ScopeRef) =>
      `${prefix}:loss:${encodeURIComponent(targetRelayId)}:${encodeURIComponent(sourceRelayId)}:${scopeKey(scope)}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * streamKeyCache remembers each target relay's stream key: a publish needs it
 * per frame. Relay ids are few; the cap only guards against churn.
 */
export function streamKeyCache(keys: RedisKeys): (relayId: string) => string {
  const streamKeys = new Map<string, string>();
  return (target) => {
    let stream = streamKeys.get(target);
    if (stream === undefined) {
      if (streamKeys.size >= 1024) streamKeys.clear();
      stream = keys.stream(target);
      streamKeys.set(target, stream);
    }
    return stream;
  };
}
