// The per-peer inbound budget (docs/protocol.md#inbound-budget). Every frame a
// peer sends pays for itself, in frames and in bytes, before the relay decodes
// or parses it: valid or not, and before the per-kind limiters, which only see
// frames that parsed. A peer that spends faster than its rate goes into debt,
// and the caller stops reading its socket until the debt is repaid, so one
// peer's flood is held back by TCP instead of by everyone else's event loop.
// Invalid frames also spend a separate allowance; when that is gone the peer
// is closed. Pure: the caller passes the time, and one object per connection
// holds the state, so charging a frame is a few arithmetic operations.

/** InboundRates are a role's refill rates and bucket sizes, computed once per relay. */
export interface InboundRates {
  readonly framesPerMs: number;
  readonly frameBurst: number;
  readonly bytesPerMs: number;
  readonly byteBurst: number;
  readonly invalidPerMs: number;
  readonly invalidBurst: number;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;

/**
 * inboundRates builds a role's rates: buckets hold one second of traffic (at
 * least one frame of maxFrameBytes, so a single largest frame never waits for
 * more than its own cost), and the invalid-frame allowance refills its size per minute.
 */
export function inboundRates(o: { framesPerSecond: number; bytesPerSecond: number; maxFrameBytes: number; invalidPerMinute: number }): InboundRates {
  return {
    framesPerMs: o.framesPerSecond / SECOND_MS,
    frameBurst: o.framesPerSecond,
    bytesPerMs: o.bytesPerSecond / SECOND_MS,
    byteBurst: Math.max(o.bytesPerSecond, o.maxFrameBytes),
    invalidPerMs: o.invalidPerMinute / MINUTE_MS,
    invalidBurst: o.invalidPerMinute,
  };
}

/** InboundBudget is one connection's budget; it starts full. */
export class InboundBudget {
  private frames: number;
  private bytes: number;
  private invalid: number;
  private at: number;
  private invalidAt: number;

  constructor(
    private readonly rates: InboundRates,
    now: number,
  ) {
    this.frames = rates.frameBurst;
    this.bytes = rates.byteBurst;
    this.invalid = rates.invalidBurst;
    this.at = now;
    this.invalidAt = now;
  }

  /**
   * spend charges one frame of `size` bytes and returns how long, in ms, the
   * peer is in debt: 0 while it is within its budget. The frame is charged
   * either way (it has been read already); the caller pauses the socket for the debt.
   */
  spend(size: number, now: number): number {
    const r = this.rates;
    // A clock step backwards must not drain the budget, so elapsed is clamped at 0.
    const elapsed = now > this.at ? now - this.at : 0;
    this.at = now;
    const frames = Math.min(r.frameBurst, this.frames + elapsed * r.framesPerMs) - 1;
    const bytes = Math.min(r.byteBurst, this.bytes + elapsed * r.bytesPerMs) - size;
    this.frames = frames;
    this.bytes = bytes;
    if (frames >= 0 && bytes >= 0) return 0;
    return Math.ceil(Math.max(frames < 0 ? -frames / r.framesPerMs : 0, bytes < 0 ? -bytes / r.bytesPerMs : 0));
  }

  /** strike spends one invalid frame of the allowance; false when the allowance is gone (close the peer). */
  strike(now: number): boolean {
    const r = this.rates;
    const elapsed = now > this.invalidAt ? now - this.invalidAt : 0;
    this.invalidAt = now;
    this.invalid = Math.min(r.invalidBurst, this.invalid + elapsed * r.invalidPerMs) - 1;
    return this.invalid >= 0;
  }
}
