// The soak's trend fit must fail on a leak and shrug off a late GC on a loaded machine.
import { describe, expect, it } from 'vitest';
import { robustSlope, slope, type Sample } from './process-stats.js';

const MiB = 1 << 20;
/** series builds 60 s of samples every 0.5 s: a base of 150 MiB, growing at rate bytes/s, with noise. */
function series(rate: number, spike?: { at: number; until: number; bytes: number }): Sample[] {
  return Array.from({ length: 121 }, (_, i) => {
    const t = i / 2;
    const noise = ((i * 7919) % 13) * 4096 - 6 * 4096; // deterministic jitter of about ±24 KiB
    const extra = spike && t >= spike.at && t < spike.until ? spike.bytes : 0;
    return { t, bytes: 150 * MiB + rate * t + noise + extra };
  });
}

describe('robustSlope', () => {
  it('finds a steady leak', () => {
    expect(robustSlope(series(100 * 1024))).toBeGreaterThan(90 * 1024);
    expect(robustSlope(series(100 * 1024))).toBeLessThan(110 * 1024);
  });

  it('reads a flat line as flat even when the garbage of the last few seconds is collected late', () => {
    const late = series(0, { at: 50, until: 60, bytes: 24 * MiB });
    // Least squares turns the late spike into a trend that looks like a leak; the median of pair slopes does not.
    expect(slope(late)).toBeGreaterThan(256 * 1024);
    expect(Math.abs(robustSlope(late))).toBeLessThan(8 * 1024);
  });

  it('still sees a leak under the same spike', () => {
    expect(robustSlope(series(100 * 1024, { at: 50, until: 60, bytes: 24 * MiB }))).toBeGreaterThan(64 * 1024);
  });
});
