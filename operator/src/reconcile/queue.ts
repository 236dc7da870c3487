// Level-triggered work queue. Watch events only add keys; a key is processed
// by at most one worker at a time (an add during processing marks it dirty
// and it runs again after), failures back off per key exponentially, and a
// token bucket bounds the global rate. Time comes from an injected Clock.
import type { Clock, TimerId } from '../clock.js';

/** WorkOutcome: retry = failed, back off; done = forget failures. */
export type WorkOutcome = { retry: boolean };

/** QueueOptions configure a WorkQueue; the defaults follow controller-runtime. */
export interface QueueOptions {
  clock: Clock;
  worker: (key: string) => Promise<WorkOutcome>;
  concurrency?: number;
  /** First retry delay; doubles per consecutive failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Global token bucket: sustained rate and burst. */
  ratePerSecond?: number;
  burst?: number;
  /** Called whenever the number of waiting keys changes. */
  onDepth?: (depth: number) => void;
  /** Called when the worker itself throws (a bug); the key is retried. */
  onCrash?: (key: string, error: unknown) => void;
}

/** WorkQueue deduplicates keys and runs the worker over them. */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly opts: Required<Omit<QueueOptions, 'onDepth' | 'onCrash'>> & Pick<QueueOptions, 'onDepth' | 'onCrash'>;
  private readonly ready: string[] = [];
  private readonly readySet = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: TimerId }>();
  private tokens: number;
  private lastRefill: number;
  private rateTimer: TimerId | undefined;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: QueueOptions) {
    this.clock = opts.clock;
    this.opts = {
      concurrency: 2,
      baseDelayMs: 200,
      maxDelayMs: 5 * 60_000,
      ratePerSecond: 10,
      burst: 100,
      ...opts,
    };
    this.tokens = this.opts.burst;
    this.lastRefill = this.clock.now();
  }

  /** depth is the number of keys waiting (ready, not processing). */
  get depth(): number {
    return this.ready.length;
  }

  /** failuresOf is the consecutive failure count of a key. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** start begins processing. Keys added before start wait. */
  start(): void {
    this.running = true;
    this.pump();
  }

  /** stop halts new work; in-flight work finishes. Pending timers are cancelled. */
  stop(): void {
    this.running = false;
    for (const d of this.delayed.values()) this.clock.clearTimer(d.timer);
    this.delayed.clear();
    if (this.rateTimer !== undefined) this.clock.clearTimer(this.rateTimer);
    this.rateTimer = undefined;
  }

  /** add enqueues key now (deduplicated). */
  add(key: string): void {
    const d = this.delayed.get(key);
    if (d) {
      this.clock.clearTimer(d.timer);
      this.delayed.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.readySet.has(key)) return;
    this.readySet.add(key);
    this.ready.push(key);
    this.opts.onDepth?.(this.ready.length);
    this.pump();
  }

  /** addAfter enqueues key after ms, keeping an earlier pending schedule. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.clock.clearTimer(existing.timer);
    const timer = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** backoffFor is the delay before retry number `failures` (1-based). */
  backoffFor(failures: number): number {
    return Math.min(this.opts.baseDelayMs * 2 ** Math.max(0, failures - 1), this.opts.maxDelayMs);
  }

  /** idle resolves when nothing is processing and nothing can start now (delayed or rate-limited keys may remain). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.processing.size === 0 && (this.ready.length === 0 || !this.running || this.rateTimer !== undefined);
  }

  private takeToken(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.opts.ratePerSecond);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (this.rateTimer === undefined) {
      const wait = Math.ceil(((1 - this.tokens) / this.opts.ratePerSecond) * 1000);
      this.rateTimer = this.clock.setTimer(() => {
        this.rateTimer = undefined;
        this.pump();
      }, wait);
    }
    return false;
  }

  private pump(): void {
    while (this.running && this.processing.size < this.opts.concurrency && this.ready.length > 0) {
      if (!this.takeToken()) break;
      const key = this.ready.shift()!;
      this.readySet.delete(key);
      this.opts.onDepth?.(this.ready.length);
      this.processing.add(key);
      void this.process(key);
    }
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async process(key: string): Promise<void> {
    let retry: boolean;
    try {
      retry = (await this.opts.worker(key)).retry;
    } catch (error) {
      this.opts.onCrash?.(key, error);
      retry = true;
    }
    this.processing.delete(key);
    if (retry) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      if (this.running) this.addAfter(key, this.backoffFor(n));
    } else {
      this.failures.delete(key);
    }
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }
}
