// Fixed-window counter per key (docs/protocol.md#rate-limits): used for upgrades per IP and for
// kex-init and pairing requests. Keys are LRU-capped so an address sweep
// cannot grow memory without bound.
import { assertPositive, evictOldest, sweepIdle } from './recency-map.js';

/** FixedWindowOptions configures a FixedWindowLimiter; now is injected so tests control time. */
export interface FixedWindowOptions {
  /** Hits allowed per window (>= 1). */
  readonly max: number;
  /** Window length in ms (> 0). */
  readonly windowMs: number;
  /** Most keys kept; the least recently used key is dropped beyond it (>= 1). */
  readonly maxKeys: number;
  readonly now: () => number;
}

interface WindowState {
  start: number;
  count: number;
  lastSeen: number;
}

/**
 * FixedWindowLimiter allows at most `max` hits per key in each window. The
 * first hit opens `{count:1, start:now}`; the window resets once
 * `now - start >= windowMs`; a hit is denied while `count >= max`. Denied
 * hits are not counted but do keep the key recent.
 */
export class FixedWindowLimiter {
  // Map order is recency order: every hit deletes and re-inserts its key, so
  // the first key is always the least recently used one.
  private readonly windows = new Map<string, WindowState>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: FixedWindowOptions) {
    assertPositive('max', options.max);
    assertPositive('windowMs', options.windowMs);
    assertPositive('maxKeys', options.maxKeys);
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys;
    this.now = options.now;
  }

  /** hit records one attempt for key and returns true when it is allowed. O(1). */
  hit(key: string): boolean {
    const now = this.now();
    const state = this.windows.get(key);
    if (state === undefined) {
      this.windows.set(key, { start: now, count: 1, lastSeen: now });
      if (this.windows.size > this.maxKeys) evictOldest(this.windows);
      return true;
    }
    this.windows.delete(key);
    this.windows.set(key, state);
    state.lastSeen = now;
    if (now - state.start >= this.windowMs) {
      state.start = now;
      state.count = 1;
      return true;
    }
    if (state.count >= this.max) return false;
    state.count += 1;
    return true;
  }

  /** sweep drops keys idle for two windows or more; their windows have expired, so nothing is lost. */
  sweep(): void {
    sweepIdle(this.windows, this.now() - 2 * this.windowMs);
  }

  /** size is the number of keys currently tracked. */
  get size(): number {
    return this.windows.size;
  }
}
