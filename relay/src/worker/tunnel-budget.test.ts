import { describe, expect, it } from 'vitest';
import { TunnelBudget } from './tunnel-budget.js';

const limits = { maxInFlightPerWorker: 3, maxBufferedBytesPerWorker: 250, maxBufferedBytesTotal: 400, reserveBytes: 100 };

describe('worker tunnel budget', () => {
  it('refuses a worker past its byte share, then past its in-flight count', () => {
    const b = new TunnelBudget<string>(limits);
    expect([b.acquire('a'), b.acquire('a'), b.acquire('a')]).toEqual([undefined, undefined, 'worker_bytes']);
    const roomy = new TunnelBudget<string>({ ...limits, maxBufferedBytesPerWorker: 1000, maxBufferedBytesTotal: 1000 });
    expect([roomy.acquire('a'), roomy.acquire('a'), roomy.acquire('a'), roomy.acquire('a')]).toEqual([undefined, undefined, undefined, 'in_flight']);
  });

  it('refuses anyone once the relay-wide bytes are reserved, and frees them on release', () => {
    const b = new TunnelBudget<string>(limits);
    for (const w of ['a', 'a', 'b', 'b']) expect(b.acquire(w)).toBeUndefined();
    expect(b.acquire('c')).toBe('relay_bytes');
    expect(b.reservedBytes()).toBe(400);
    b.release('a');
    expect(b.acquire('c')).toBeUndefined();
    b.release('nobody');
    expect(b.reservedBytes()).toBe(400);
  });
});
