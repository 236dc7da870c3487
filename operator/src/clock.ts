// Clock: time and timers behind one interface so the queue, leader election
// and status timestamps can be driven by tests.

/** TimerId identifies a scheduled callback. */
export type TimerId = number;

/** Clock supplies the current time and one-shot timers. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerId;
  clearTimer(id: TimerId): void;
}

/** systemClock uses Date.now and setTimeout; timers do not keep the process alive. */
export function systemClock(): Clock {
  const timers = new Map<TimerId, NodeJS.Timeout>();
  let seq = 0;
  return {
    now: () => Date.now(),
    setTimer(fn, ms) {
      const id = ++seq;
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      t.unref();
      timers.set(id, t);
      return id;
    },
    clearTimer(id) {
      clearTimeout(timers.get(id));
      timers.delete(id);
    },
  };
}

/** ManualClock only moves when advance() is called; timers fire in time order. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private timers = new Map<TimerId, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): TimerId {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(id: TimerId): void {
    this.timers.delete(id);
  }

  /** pending is the number of scheduled timers. */
  get pending(): number {
    return this.timers.size;
  }

  /** advance moves time forward by ms, firing due timers in order (timers they schedule too). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [TimerId, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}
