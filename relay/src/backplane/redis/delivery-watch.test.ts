import { describe, expect, it } from 'vitest';
import type { AppendOutcome } from '../store.js';
import { createDeliveryWatch, parseProgress, type Progress } from './delivery-watch.js';

function setup() {
  let nowMs = 1000;
  const progress = new Map<string, Progress>();
  const watch = createDeliveryWatch({
    progress: async (target) => progress.get(target) ?? { beatAgeMs: null, startId: null, readId: null },
    lapseMs: 5000,
    now: () => nowMs,
  });
  const settled: Record<string, AppendOutcome> = {};
  const track = (target: string, id: string) => void watch.track(target, id).then((o) => (settled[id] = o));
  const tick = async (ms = 0) => {
    nowMs += ms;
    await watch.poll();
    await new Promise((r) => setImmediate(r));
  };
  return { watch, progress, settled, track, tick };
}

describe('delivery watch', () => {
  it('settles frames the target read as appended, and keeps the rest waiting while its beat is fresh', async () => {
    const { watch, progress, settled, track, tick } = setup();
    track('b', '10-0');
    track('b', '11-0');
    track('b', '12-0');
    progress.set('b', { beatAgeMs: 900, startId: '1-0', readId: '11-0' });
    await tick();
    expect(settled).toEqual({ '10-0': 'appended', '11-0': 'appended' });
    expect(watch.pending()).toBe(1);
  });

  it('settles what a target never read as gone once its heartbeat lapsed', async () => {
    const { watch, progress, settled, track, tick } = setup();
    track('b', '10-0');
    track('b', '11-0');
    progress.set('b', { beatAgeMs: 5001, startId: '1-0', readId: '10-0' });
    await tick();
    expect(settled).toEqual({ '10-0': 'appended', '11-0': 'gone' });
    expect(watch.pending()).toBe(0);
  });

  it('settles as gone what a restarted target skipped at its start', async () => {
    const { progress, settled, track, tick } = setup();
    track('b', '10-0');
    track('b', '20-0');
    progress.set('b', { beatAgeMs: 10, startId: '15-0', readId: '20-0' });
    await tick();
    expect(settled).toEqual({ '10-0': 'gone', '20-0': 'appended' });
  });

  it('without any heartbeat, waits one lapse before settling as gone', async () => {
    const { settled, track, tick } = setup();
    track('b', '10-0');
    await tick(4000);
    expect(settled).toEqual({});
    await tick(1001);
    expect(settled).toEqual({ '10-0': 'gone' });
  });

  it('reads the progress script answer', () => {
    expect(parseProgress([-1, ''])).toEqual({ beatAgeMs: null, startId: null, readId: null });
    expect(parseProgress([12, '3-0 7-1'])).toEqual({ beatAgeMs: 12, startId: '3-0', readId: '7-1' });
  });
});
