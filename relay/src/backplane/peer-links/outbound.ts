// The sending end of one open peer link: frames waiting for an ack, in send
// order, handed back when the link drops, and the pings that find a silent
// peer. Generic in the frame type and free of routing, so the queue is tested
// against a bare socket.
import { WebSocket, type RawData } from 'ws';
import { decodeAck } from './codec.js';

/** PendingFrame is a frame sent on a link and not yet acknowledged. */
export interface PendingFrame<F> {
  readonly frame: F;
  readonly settle: (delivered: boolean) => void;
}

/**
 * OutboundLink is the sending end of one link. Frames are acknowledged in
 * batches; when the link drops, the frames still unacknowledged are handed
 * back (their fate is unknown, so the caller reports them lost).
 */
export class OutboundLink<F> {
  private readonly pending: PendingFrame<F>[] = [];
  private head = 0;
  private sent = 0;
  private acked = 0;
  private lostHandler: ((unacked: PendingFrame<F>[]) => void) | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private gone = false;

  constructor(
    readonly targetRelayId: string,
    readonly nonce: string,
    private readonly ws: WebSocket,
    pingIntervalMs: number,
  ) {
    ws.on('message', (raw: RawData) => {
      const count = decodeAck(raw as Buffer);
      if (count !== null) this.ack(count);
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    // A peer that stops answering pings is gone even if TCP has not noticed.
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, pingIntervalMs);
    this.pingTimer.unref();
    ws.on('close', () => this.lost());
    ws.on('error', () => ws.terminate());
  }

  /** isOpen says whether frames may still be sent. */
  isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** unacked is how many frames wait for an ack. */
  unacked(): number {
    return this.sent - this.acked;
  }

  /** sentCount and ackedCount are the link's message counts so far (positions for loss-marker guards). */
  sentCount(): number {
    return this.sent;
  }

  ackedCount(): number {
    return this.acked;
  }

  /** send writes one encoded frame; settle runs with true when acked, or is handed to onLost. */
  send(frame: F, data: Buffer, settle: (delivered: boolean) => void): void {
    if (this.gone) {
      settle(false);
      return;
    }
    this.pending.push({ frame, settle });
    this.sent++;
    this.ws.send(data);
  }

  /** onLost registers what to do with the unacknowledged frames once the link is gone. */
  onLost(handler: (unacked: PendingFrame<F>[]) => void): void {
    this.lostHandler = handler;
  }

  close(code = 1000, reason = 'closing'): void {
    this.ws.close(code, reason);
  }

  /**
   * abandon drops the link at once and hands back its unacknowledged frames
   * before it returns, so whatever the caller sends next by another path is
   * ordered after the loss handling (the 'close' event would come a turn later).
   */
  abandon(): void {
    this.ws.terminate();
    this.lost();
  }

  private ack(count: number): void {
    if (count > this.sent) {
      this.ws.terminate();
      return;
    }
    while (this.acked < count) {
      const entry = this.pending[this.head++]!;
      this.acked++;
      entry.settle(true);
    }
    // Compact now and then so the queue does not grow with the link's age.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    clearInterval(this.pingTimer);
    const unacked = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    this.acked = this.sent;
    this.lostHandler?.(unacked);
  }
}
