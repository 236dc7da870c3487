import { describe, expect, it } from 'vitest';
import { quantileSorted, spreadOf, summariseLatency } from './stats.js';

describe('spreadOf', () => {
  it.each([
    ['one sample', [5], { median: 5, min: 5, max: 5 }],
    ['odd count, unsorted', [9, 1, 5], { median: 5, min: 1, max: 9 }],
    ['even count', [1, 2, 3, 10], { median: 2.5, min: 1, max: 10 }],
  ])('%s', (_name, samples, expected) => {
    expect(spreadOf(samples)).toEqual(expected);
  });

  it('refuses an empty round list rather than inventing a number', () => {
    expect(() => spreadOf([])).toThrow();
  });
});

describe('latency percentiles', () => {
  it('interpolates between ranks', () => {
    expect(quantileSorted([0, 10], 0.5)).toBe(5);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.9)).toBeCloseTo(4.6);
  });

  it('summarises 1..100 ms', () => {
    const samples = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summariseLatency(samples)).toMatchObject({ count: 100, p50: 50.5, max: 100 });
    expect(summariseLatency(samples).p99).toBeCloseTo(99.01);
  });
});
