import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { WorkQueue, type WorkOutcome } from './queue.js';

/** A worker whose calls the test resolves by hand, to observe concurrency. */
function manualWorker() {
  const calls: { key: string; resolve: (o: WorkOutcome) => void }[] = [];
  const worker = (key: string) => new Promise<WorkOutcome>((resolve) => calls.push({ key, resolve }));
  return { calls, worker };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('deduplicates keys waiting in the queue', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const q = new WorkQueue({ clock, worker: async (k) => (seen.push(k), { retry: false }) });
    q.add('a');
    q.add('a');
    q.add('b');
    q.start();
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once; an add during processing runs again after', async () => {
    const clock = new ManualClock();
    const w = manualWorker();
    const q = new WorkQueue({ clock, worker: w.worker, concurrency: 4 });
    q.start();
    q.add('a');
    q.add('a');
    expect(w.calls.map((c) => c.key)).toEqual(['a']);
    q.add('a');
    expect(w.calls).toHaveLength(1);
    w.calls[0]!.resolve({ retry: false });
    await flush();
    expect(w.calls.map((c) => c.key)).toEqual(['a', 'a']);
    w.calls[1]!.resolve({ retry: false });
    await q.idle();
    expect(w.calls).toHaveLength(2);
  });

  it('respects concurrency across keys', async () => {
    const clock = new ManualClock();
    const w = manualWorker();
    const q = new WorkQueue({ clock, worker: w.worker, concurrency: 2 });
    q.start();
    for (const k of ['a', 'b', 'c']) q.add(k);
    expect(w.calls.map((c) => c.key)).toEqual(['a', 'b']);
    expect(q.depth).toBe(1);
    w.calls[0]!.resolve({ retry: false });
    await flush();
    expect(w.calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
  });

  it('backs off per key exponentially up to the cap, and resets on success', async () => {
    const clock = new ManualClock();
    let fail = 4;
    const times: number[] = [];
    const q = new WorkQueue({
      clock,
      baseDelayMs: 100,
      maxDelayMs: 400,
      worker: async () => {
        times.push(clock.now() - start);
        return { retry: fail-- > 0 };
      },
    });
    const start = clock.now();
    q.start();
    q.add('a');
    await q.idle();
    for (const step of [100, 200, 400, 400]) {
      clock.advance(step);
      await q.idle();
    }
    // Attempts at 0, then +100, +200, +400, +400 (capped).
    expect(times).toEqual([0, 100, 300, 700, 1100]);
    expect(q.failuresOf('a')).toBe(0);
  });

  it('an event for a backing-off key runs it at once', async () => {
    const clock = new ManualClock();
    let n = 0;
    const q = new WorkQueue({ clock, baseDelayMs: 10_000, worker: async () => ({ retry: ++n === 1 }) });
    q.start();
    q.add('a');
    await q.idle();
    expect(n).toBe(1);
    q.add('a');
    await q.idle();
    expect(n).toBe(2);
    clock.advance(20_000);
    await q.idle();
    expect(n).toBe(2);
  });

  it('limits the global rate with a token bucket', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const q = new WorkQueue({ clock, ratePerSecond: 2, burst: 2, worker: async (k) => (seen.push(k), { retry: false }) });
    q.start();
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
    clock.advance(500);
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'c']);
    clock.advance(500);
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('treats a throwing worker as a failure and reports it', async () => {
    const clock = new ManualClock();
    const crashes: string[] = [];
    const q = new WorkQueue({
      clock,
      worker: async () => {
        throw new Error('bug');
      },
      onCrash: (k) => crashes.push(k),
    });
    q.start();
    q.add('a');
    await q.idle();
    expect(crashes).toEqual(['a']);
    expect(q.failuresOf('a')).toBe(1);
  });

  it('reports depth changes', async () => {
    const clock = new ManualClock();
    const depths: number[] = [];
    const q = new WorkQueue({ clock, worker: async () => ({ retry: false }), onDepth: (d) => depths.push(d) });
    q.add('a');
    q.add('b');
    q.start();
    await q.idle();
    expect(depths).toEqual([1, 2, 1, 0]);
  });
});
