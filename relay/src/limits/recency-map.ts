// Helpers for the limiters' key tables: Maps kept in recency order (every
// access deletes and re-inserts its key), so the first key is the least
// recently used one and idle keys sit at the front.

/** assertPositive rejects limiter options that would make the limiter meaningless; a programming error, not input. */
export function assertPositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`limiter option ${name} must be a positive number`);
}

/** evictOldest drops the least recently used key of a recency-ordered map. */
export function evictOldest(map: Map<string, unknown>): void {
  const oldest = map.keys().next();
  if (oldest.done !== true) map.delete(oldest.value);
}

/**
 * sweepIdle deletes entries last seen at or before cutoff. The map is in
 * recency order, so it stops at the first recent entry.
 */
export function sweepIdle(map: Map<string, { lastSeen: number }>, cutoff: number): void {
  for (const [key, state] of map) {
    if (state.lastSeen > cutoff) return;
    map.delete(key);
  }
}
