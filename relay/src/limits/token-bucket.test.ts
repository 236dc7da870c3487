import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from './token-bucket.js';

function manualClock(start = 5_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function drain(limiter: TokenBucketLimiter, key: string): number {
  let allowed = 0;
  while (limiter.take(key)) allowed++;
  return allowed;
}

describe('TokenBucketLimiter', () => {
  it.each([
    ['capacity 1', 1],
    ['capacity 240 (runtime per client)', 240],
    ['capacity 2400 (daemon)', 2400],
  ])('lets a new key burst exactly capacity takes (%s)', (_name, capacity) => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: capacity, maxKeys: 10, now: clock.now });
    expect(drain(limiter, 'k')).toBe(capacity);
  });

  it.each([
    // capacity 60/min refills 1 token per second.
    ['999 ms: under one token', 999, 0],
    ['1000 ms: one token', 1_000, 1],
    ['2500 ms: two tokens', 2_500, 2],
    ['a full minute: capacity', 60_000, 60],
    ['an hour: still capped at capacity', 3_600_000, 60],
  ])('refills continuously, %s', (_name, elapsed, expected) => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 60, maxKeys: 10, now: clock.now });
    drain(limiter, 'k');
    clock.advance(elapsed);
    expect(drain(limiter, 'k')).toBe(expected);
  });

  it('keeps the fractional remainder between takes', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 60, maxKeys: 10, now: clock.now });
    drain(limiter, 'k');
    clock.advance(600);
    expect(limiter.take('k')).toBe(false); // 0.6 tokens
    clock.advance(400);
    expect(limiter.take('k')).toBe(true); // 1.0 token
    expect(limiter.take('k')).toBe(false);
  });

  it('does not drain when the clock steps backwards', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 60, maxKeys: 10, now: clock.now });
    limiter.take('k');
    clock.advance(-30_000);
    expect(drain(limiter, 'k')).toBe(59);
  });

  it('keeps keys independent', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 2, maxKeys: 10, now: clock.now });
    expect(drain(limiter, 'a')).toBe(2);
    expect(limiter.take('b')).toBe(true);
  });

  it('evicts the least recently used key beyond maxKeys; a returning key starts full again', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 1, maxKeys: 2, now: clock.now });
    limiter.take('a');
    limiter.take('b');
    expect(limiter.take('a')).toBe(false); // touch a: b is now the oldest
    limiter.take('c'); // evicts b
    expect(limiter.size).toBe(2);
    expect(limiter.take('a')).toBe(false);
    expect(limiter.take('b')).toBe(true);
  });

  it.each([
    ['idle 2 minutes: dropped', 120_000, 0],
    ['idle just under 2 minutes: kept', 119_999, 1],
  ])('sweep, key %s', (_name, idle, size) => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 10, maxKeys: 10, now: clock.now });
    limiter.take('k');
    clock.advance(idle);
    limiter.sweep();
    expect(limiter.size).toBe(size);
  });

  it('sweep loses nothing: a swept key gets the same burst it would have had', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 5, maxKeys: 10, now: clock.now });
    drain(limiter, 'k');
    clock.advance(120_000);
    limiter.sweep();
    expect(limiter.size).toBe(0);
    expect(drain(limiter, 'k')).toBe(5);
  });

  it('caps the key table at maxKeys under a flood of new keys', () => {
    const clock = manualClock();
    const limiter = new TokenBucketLimiter({ capacityPerMinute: 10, maxKeys: 1_000, now: clock.now });
    for (let i = 0; i < 5_000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(1_000);
    expect(limiter.take('k4999')).toBe(true); // newest kept
    expect(limiter.take('k0')).toBe(true); // oldest evicted, starts afresh
  });

  it.each([
    ['capacity 0', { capacityPerMinute: 0, maxKeys: 1 }],
    ['maxKeys 0', { capacityPerMinute: 1, maxKeys: 0 }],
  ])('rejects nonsensical options: %s', (_name, options) => {
    expect(() => new TokenBucketLimiter({ ...options, now: () => 0 })).toThrow(RangeError);
  });
});
