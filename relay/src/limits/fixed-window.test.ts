import { describe, expect, it } from 'vitest';
import { FixedWindowLimiter } from './fixed-window.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('FixedWindowLimiter', () => {
  it.each([
    ['max 1', 1],
    ['max 3', 3],
    ['max 120 (upgrade default)', 120],
  ])('allows exactly max hits in one window (%s)', (_name, max) => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max, windowMs: 60_000, maxKeys: 10, now: clock.now });
    for (let i = 0; i < max; i++) expect(limiter.hit('ip')).toBe(true);
    expect(limiter.hit('ip')).toBe(false);
    expect(limiter.hit('ip')).toBe(false);
  });

  it.each([
    ['1 ms before the window ends: still denied', 59_999, false],
    ['exactly at the window end: reset', 60_000, true],
    ['long after the window: reset', 600_000, true],
  ])('window edge, %s', (_name, elapsed, allowed) => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 2, windowMs: 60_000, maxKeys: 10, now: clock.now });
    expect(limiter.hit('k')).toBe(true);
    clock.advance(1_000);
    expect(limiter.hit('k')).toBe(true);
    clock.advance(elapsed - 1_000);
    expect(limiter.hit('k')).toBe(allowed);
  });

  it('starts the new window at the first hit after reset, not at the old boundary', () => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 1, windowMs: 1_000, maxKeys: 10, now: clock.now });
    expect(limiter.hit('k')).toBe(true);
    clock.advance(1_500); // new window opens here, at t0+1500
    expect(limiter.hit('k')).toBe(true);
    clock.advance(900); // t0+2400: still inside the window opened at t0+1500
    expect(limiter.hit('k')).toBe(false);
    clock.advance(100); // t0+2500: window over
    expect(limiter.hit('k')).toBe(true);
  });

  it('does not count denied hits toward the next window', () => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 2, windowMs: 1_000, maxKeys: 10, now: clock.now });
    limiter.hit('k');
    limiter.hit('k');
    for (let i = 0; i < 50; i++) expect(limiter.hit('k')).toBe(false);
    clock.advance(1_000);
    expect(limiter.hit('k')).toBe(true);
    expect(limiter.hit('k')).toBe(true);
    expect(limiter.hit('k')).toBe(false);
  });

  it('keeps keys independent', () => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 1, windowMs: 1_000, maxKeys: 10, now: clock.now });
    expect(limiter.hit('a')).toBe(true);
    expect(limiter.hit('a')).toBe(false);
    expect(limiter.hit('b')).toBe(true);
  });

  it('evicts the least recently used key beyond maxKeys, which then starts afresh', () => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 1, windowMs: 60_000, maxKeys: 2, now: clock.now });
    limiter.hit('a');
    limiter.hit('b');
    expect(limiter.hit('a')).toBe(false); // touches a: b is now the oldest
    limiter.hit('c'); // evicts b
    expect(limiter.size).toBe(2);
    expect(limiter.hit('a')).toBe(false); // a was kept
    expect(limiter.hit('b')).toBe(true); // b was forgotten (and this evicts c)
    expect(limiter.hit('c')).toBe(true);
    expect(limiter.size).toBe(2);
  });

  it.each([
    ['idle 2 windows: dropped', 2_000, 0],
    ['idle just under 2 windows: kept', 1_999, 1],
  ])('sweep, key %s', (_name, idle, size) => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 1, windowMs: 1_000, maxKeys: 10, now: clock.now });
    limiter.hit('k');
    clock.advance(idle);
    limiter.sweep();
    expect(limiter.size).toBe(size);
  });

  it('sweep keeps recently hit keys and drops only idle ones', () => {
    const clock = manualClock();
    const limiter = new FixedWindowLimiter({ max: 1, windowMs: 1_000, maxKeys: 10, now: clock.now });
    limiter.hit('old');
    limiter.hit('touched');
    clock.advance(1_500);
    limiter.hit('touched');
    limiter.hit('new');
    clock.advance(1_000);
    limiter.sweep();
    expect(limiter.size).toBe(2);
    expect(limiter.hit('touched')).toBe(true); // its window (from +1500) expired at +2500
  });

  it.each([
    ['max 0', { max: 0, windowMs: 1, maxKeys: 1 }],
    ['negative window', { max: 1, windowMs: -1, maxKeys: 1 }],
    ['maxKeys NaN', { max: 1, windowMs: 1, maxKeys: Number.NaN }],
  ])('rejects nonsensical options: %s', (_name, options) => {
    expect(() => new FixedWindowLimiter({ ...options, now: () => 0 })).toThrow(RangeError);
  });
});
