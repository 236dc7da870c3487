// Receive-side replay protection for one session and direction
// (docs/e2ee-protocol.md#replay-window). check() and commit() are separate so a
// sequence number is recorded only after its envelope authenticated: garbage
// cannot burn a genuine seq.
import { fail, type Result } from './errors.js';

/** REPLAY_WINDOW is how far behind (and ahead of) the highest seen seq is accepted. */
export const REPLAY_WINDOW = 1024;

/** ReplayWindow tracks the highest accepted seq and the seen set inside the window. */
export class ReplayWindow {
  private highest = 0;
  private readonly seen = new Set<number>();

  constructor(private readonly size: number = REPLAY_WINDOW) {}

  /** highestSeq is the largest seq committed so far (0 before the first). */
  get highestSeq(): number {
    return this.highest;
  }

  private lowest(): number {
    return Math.max(1, this.highest - this.size + 1);
  }

  /** check says whether `seq` would be accepted, without recording it. */
  check(seq: number): Result<object> {
    if (!Number.isSafeInteger(seq) || seq < 1) return fail('bad_seq', 'seq must be an integer >= 1');
    if (seq > this.highest + this.size) return fail('seq_too_far', 'seq is too far ahead of the window');
    if (seq < this.lowest()) return fail('seq_too_old', 'seq is older than the window');
    if (this.seen.has(seq)) return fail('seq_replayed', 'seq was already received');
    return { ok: true };
  }

  /** commit records an authenticated seq; call only after check() passed and the open succeeded. */
  commit(seq: number): void {
    this.seen.add(seq);
    if (seq > this.highest) {
      this.highest = seq;
      const floor = this.lowest();
      for (const old of this.seen) if (old < floor) this.seen.delete(old);
    }
  }
}
