// Token bucket per key (docs/protocol.md#rate-limits): the runtime, workspace and daemon/worker
// limiters. Continuous refill lets short bursts through while bounding the
// sustained rate.
import { assertPositive, evictOldest } from './recency-map.js';

/** TokenBucketOptions configures a TokenBucketLimiter; now is injected so tests control time. */
export interface TokenBucketOptions {
  /** Bucket size, and tokens refilled per minute (>= 1). */
  readonly capacityPerMinute: number;
  /** Most keys kept; the least recently used key is dropped beyond it (>= 1). */
  readonly maxKeys: number;
  readonly now: () => number;
}

interface BucketState {
  tokens: number;
  lastSeen: number;
  /** Value of the limiter's take counter when the key last moved to the back of the map. */
  movedAt: number;
}

const MINUTE_MS = 60_000;

/**
 * TokenBucketLimiter: a new key starts at capacity-1 (its first take is
 * allowed); tokens refill continuously at capacity/60000 per ms up to
 * capacity; a take is denied when fewer than 1 token is left. O(1) per call.
 */
export class TokenBucketLimiter {
  // Roughly recency-ordered: a key moves to the back only when at least half the key cap's
  // worth of takes happened since its last move, so the first key is the least recently
  // used up to that slack. Moving on every take (a Map delete and set) cost more than the
  // rest of take on the per-frame path.
  private readonly buckets = new Map<string, BucketState>();
  private takes = 0;
  private readonly moveAfter: number;
  private readonly capacity: number;
  private readonly refillPerMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: TokenBucketOptions) {
    assertPositive('capacityPerMinute', options.capacityPerMinute);
    assertPositive('maxKeys', options.maxKeys);
    this.capacity = options.capacityPerMinute;
    this.refillPerMs = options.capacityPerMinute / MINUTE_MS;
    this.maxKeys = options.maxKeys;
    this.moveAfter = Math.max(1, Math.floor(options.maxKeys / 2));
    this.now = options.now;
  }

  /**
   * take spends one token of key's bucket and returns true, or returns false when under
   * one token is left. A caller that already read the clock for this frame passes now.
   */
  take(key: string, now: number = this.now()): boolean {
    const bucket = this.buckets.get(key);
    const takes = ++this.takes;
    if (bucket === undefined) {
      this.buckets.set(key, { tokens: this.capacity - 1, lastSeen: now, movedAt: takes });
      if (this.buckets.size > this.maxKeys) evictOldest(this.buckets);
      return this.capacity >= 1;
    }
    if (takes - bucket.movedAt >= this.moveAfter) {
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      bucket.movedAt = takes;
    }
    // A clock step backwards must not drain the bucket, so elapsed is clamped at 0.
    const elapsed = now > bucket.lastSeen ? now - bucket.lastSeen : 0;
    bucket.tokens = Math.min(this.capacity, bucket.tokens + elapsed * this.refillPerMs);
    bucket.lastSeen = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** sweep drops keys idle for two minutes or more; such buckets are full again, so nothing is lost. */
  sweep(): void {
    // A full pass: the order is only roughly by recency, so an idle key may sit behind a busy one.
    const cutoff = this.now() - 2 * MINUTE_MS;
    for (const [key, state] of this.buckets) if (state.lastSeen <= cutoff) this.buckets.delete(key);
  }

  /** size is the number of keys currently tracked. */
  get size(): number {
    return this.buckets.size;
  }
}
