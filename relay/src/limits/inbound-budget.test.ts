import { describe, expect, it } from 'vitest';
import { InboundBudget, inboundRates } from './inbound-budget.js';

const rates = inboundRates({ framesPerSecond: 10, bytesPerSecond: 1000, maxFrameBytes: 500, invalidPerMinute: 3 });

describe('inbound budget', () => {
  it('starts with one second of frames and bytes, then charges debt in ms until repaid', () => {
    const b = new InboundBudget(rates, 0);
    for (let i = 0; i < 10; i++) expect(b.spend(10, 0)).toBe(0);
    // The eleventh frame is one frame over: 100 ms at 10 frames/s.
    expect(b.spend(10, 0)).toBe(100);
    // After the debt is repaid the peer may send again.
    expect(b.spend(10, 200)).toBe(0);
  });

  it('charges bytes: a burst over the byte bucket owes its excess at the byte rate', () => {
    const b = new InboundBudget(rates, 0);
    expect(b.spend(1000, 0)).toBe(0);
    expect(b.spend(500, 0)).toBe(500);
  });

  it('always lets one largest frame through a bucket smaller than maxFrameBytes', () => {
    const small = new InboundBudget(inboundRates({ framesPerSecond: 10, bytesPerSecond: 100, maxFrameBytes: 1000, invalidPerMinute: 1 }), 0);
    expect(small.spend(1000, 0)).toBe(0);
  });

  it('is not drained by a clock step backwards', () => {
    const b = new InboundBudget(rates, 1000);
    expect(b.spend(10, 0)).toBe(0);
    expect(b.spend(10, 1000)).toBe(0);
  });

  it('allows invalidPerMinute invalid frames, refuses the next, and refills over a minute', () => {
    const b = new InboundBudget(rates, 0);
    expect([b.strike(0), b.strike(0), b.strike(0), b.strike(0)]).toEqual([true, true, true, false]);
    expect(b.strike(40_000)).toBe(true);
  });
});
