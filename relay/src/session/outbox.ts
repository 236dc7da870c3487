// Everything the session paths write goes through here: frames to peers
// (coalesced per turn, with the docs/protocol.md#backpressure overflow rule), frames to other relays
// over the backplane, the outcome table's counters, log lines and closes, and
// background tasks whose failure must be logged, not thrown. Apart from the
// paths so each of them decides, and this one module does the I/O.
import type { Backplane } from '../backplane/backplane.js';
import type { BusFrame } from '../bus/types.js';
import { busPayloadSize } from '../bus/payload-size.js';
import type { Config } from '../config/index.js';
import type { Logger, LogLevel } from '../admin/log.js';
import type { RelayMetrics } from '../admin/metrics.js';
import { relayStatus } from '../frames/index.js';
import type { ScopeState } from '../routing/scope.js';
import { FixedWindowLimiter } from '../limits/index.js';
import { CLOSE_LOG, OUTCOMES, type Effect, type Outcome } from './outcomes.js';
import { closePeer, isOpen, sendToPeer, type Peer, type SendOutcome } from './peer.js';
import { WriteBatch } from './write-batch.js';

// Frames up to this size are coalesced per turn (write-batch.ts), in batches of up to about COALESCE_FLUSH_BYTES.
const COALESCE_MAX_BYTES = 4096;
const COALESCE_FLUSH_BYTES = 16384;
// Outcome log lines per event and window: a flood of closes or throttles is summarised, not printed line by line.
const LOG_LINES_PER_WINDOW = 20;
const LOG_WINDOW_MS = 10_000;

/** OutboxDeps are the sinks the outbox writes to. */
export interface OutboxDeps {
  readonly limits: Config['limits'];
  readonly relayId: string;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly backplane: Backplane;
  readonly now: () => number;
}

/** Outbox writes to peers, the bus, metrics and the log on behalf of every session path. */
export class Outbox {
  private readonly batch = new WriteBatch();
  private readonly maxPendingBytes: number;
  private readonly logLines: FixedWindowLimiter;
  /** Lines left out per event since its last printed line; the next line carries the count. */
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly deps: OutboxDeps) {
    this.maxPendingBytes = deps.limits.maxPendingBytes;
    this.logLines = new FixedWindowLimiter({ max: LOG_LINES_PER_WINDOW, windowMs: LOG_WINDOW_MS, maxKeys: 1024, now: deps.now });
  }

  /** report applies an outcome's effect (outcomes.ts); peer is absent for frames from other relays. */
  report(outcome: Outcome, peer?: Peer): void {
    if (outcome === 'done') return;
    const e = OUTCOMES[outcome];
    const m = this.deps.metrics;
    if (e.counter !== undefined) m.inc(e.counter);
    if (e.drop !== undefined) m.drop(e.drop);
    if (e.upgradeRejection !== undefined) m.rejectUpgrade(e.upgradeRejection);
    if (peer === undefined) return;
    const line = e.log ?? (e.close !== undefined ? CLOSE_LOG : undefined);
    if (line !== undefined) this.logOutcome(line, e, peer);
    if (e.status !== undefined) this.send(peer, relayStatus(e.status, peer.workspaceId, {}));
    if (e.close !== undefined) closePeer(peer, e.close.code, e.close.reason);
    // An invalid frame spends the peer's allowance; the one that overdraws it closes the peer.
    else if (e.invalid && !peer.budget.strike(this.deps.now())) this.report('invalid_frames', peer);
  }

  // logOutcome writes an outcome's line, at most LOG_LINES_PER_WINDOW per event and window.
  private logOutcome(line: NonNullable<Effect['log']>, e: Effect, peer: Peer): void {
    if (!this.logLines.hit(line.event)) {
      this.suppressed.set(line.event, (this.suppressed.get(line.event) ?? 0) + 1);
      return;
    }
    const details: Record<string, unknown> = { role: peer.role, workspaceId: peer.workspaceId };
    if (line.withReason && e.close !== undefined) {
      details.reason = e.close.reason;
      details.code = e.close.code;
    } else if (line.reason !== undefined) details.reason = line.reason;
    const suppressed = this.suppressed.get(line.event);
    if (suppressed !== undefined) {
      details.suppressed = suppressed;
      this.suppressed.delete(line.event);
    }
    this.log(line.level, line.event, details);
  }

  /** send writes to a peer, closing it 4008 `buffer overflow` when it cannot keep up (docs/protocol.md#backpressure). */
  send(peer: Peer, data: string | Buffer, isBinary = false): SendOutcome {
    return this.sendAt(peer, data, isBinary, this.deps.now());
  }

  /** sendAt is send for a caller that already read the clock (the per-frame path). */
  sendAt(peer: Peer, data: string | Buffer, isBinary: boolean, now: number): SendOutcome {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    // Only small frames are worth coalescing: a 16 KiB write already amortises its syscall,
    // and holding large ones back measured slower (bigger bursts, partial writes).
    if (size <= COALESCE_MAX_BYTES && isOpen(peer)) this.batch.hold(peer);
    if (peer.corked) {
      // Bytes held back by the batch are not the peer's backlog: hand them to the kernel
      // before the overflow check could count them, and keep batches modest.
      const held = peer.socket?.writableLength ?? 0;
      if (held >= COALESCE_FLUSH_BYTES || peer.ws.bufferedAmount + size > this.maxPendingBytes) this.batch.release(peer);
    }
    const outcome = sendToPeer(peer, data, this.maxPendingBytes, now, isBinary);
    if (outcome === 'overflow') this.report('slow_peer', peer);
    else if (outcome === 'not_open') this.report('peer_not_open');
    return outcome;
  }

  /**
   * busFrame is a frame this relay publishes for scope (whose runtime target is set
   * on every publishing path). It carries the socket's bytes next to the text, so a
   * peer link sends them without encoding the text again.
   */
  busFrame(scope: ScopeState<Peer>, direction: BusFrame['direction'], targetRelayId: string | null, machineId: string | undefined, buf: Buffer): BusFrame {
    return {
      workspaceId: scope.workspaceId,
      runtimeTargetId: scope.runtimeTargetId as string,
      machineId,
      sourceRelayId: this.deps.relayId,
      targetRelayId,
      direction,
      payload: buf.toString('utf8'),
      payloadBytes: buf,
    };
  }

  /** publish hands a frame to the backplane; false when it was refused or failed. */
  async publish(frame: BusFrame): Promise<boolean> {
    try {
      const ok = await this.deps.backplane.publish(frame);
      if (ok) this.deps.metrics.frame('bus_out', busPayloadSize(frame));
      return ok;
    } catch {
      return false;
    }
  }

  /** background runs a task nobody awaits; a failure is logged by name only. */
  background(p: Promise<unknown>, what: string): void {
    p.catch((err: unknown) => this.log('warn', 'background_task_failed', { task: what, error: (err as Error)?.name ?? 'unknown' }));
  }

  log(level: LogLevel, event: string, details?: Record<string, unknown>): void {
    this.deps.log[level](event, details);
  }
}
