// The sending end of one open peer link: frames waiting for an ack, in send
// order, handed back when the link drops, the byte count of what it holds
// for the peer, and the pings and ack watch that find a silent or stalled
// peer. Every message is sealed with the link's dialer-to-listener key and
// every ack must open with the other (link-mac.ts). Generic in the frame
// type and free of routing, so the queue is tested against a bare socket.
import { WebSocket, type RawData } from 'ws';
import { decodeAck } from './codec.js';
import { LinkMac, type LinkSessionKeys } from './link-mac.js';

/** PendingFrame is a frame sent on a link and not yet acknowledged. */
export interface PendingFrame<F> {
  readonly frame: F;
  readonly settle: (delivered: boolean) => void;
}

/** Why a link was closed from this end for what its peer did. */
export type OutboundFault = 'bad_tag' | 'ack_stalled';

export interface OutboundLinkOptions {
  readonly pingIntervalMs: number;
  /** onFault hears of a peer message that failed its tag, or acks that stopped while frames wait. */
  readonly onFault?: (fault: OutboundFault) => void;
}

/**
 * OutboundLink is the sending end of one link. Frames are acknowledged in
 * batches; when the link drops, the frames still unacknowledged are handed
 * back (their fate is unknown, so the caller reports them lost).
 */
export class OutboundLink<F> {
  private readonly pending: PendingFrame<F>[] = [];
  // Each pending frame's message size, beside it (a number array: no object per frame).
  private readonly sizes: number[] = [];
  private head = 0;
  private sent = 0;
  private acked = 0;
  private unackedBytes = 0;
  private readonly sealer: LinkMac;
  private readonly opener: LinkMac;
  private lostHandler: ((unacked: PendingFrame<F>[]) => void) | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  // The ack count at the last ping tick, and whether frames waited without an
  // ack across that tick: to tell a stalled peer from a busy one.
  private ackedAtTick = 0;
  private stalledBefore = false;
  private gone = false;

  constructor(
    readonly targetRelayId: string,
    readonly nonce: string,
    private readonly ws: WebSocket,
    keys: LinkSessionKeys,
    options: OutboundLinkOptions,
  ) {
    this.sealer = new LinkMac(keys.dialerToListener);
    this.opener = new LinkMac(keys.listenerToDialer);
    ws.on('message', (raw: RawData) => {
      if (this.gone) return;
      const data = raw as Buffer;
      const count = this.opener.open(data) ? decodeAck(data) : null;
      if (count !== null) {
        this.ack(count);
        return;
      }
      // Forged, replayed, reordered or not an ack: the link can no longer be trusted.
      options.onFault?.('bad_tag');
      this.abandon();
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    this.pingTimer = setInterval(() => this.tick(options.onFault), options.pingIntervalMs);
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

  /**
   * queuedBytes is what this link holds for its peer: the messages not yet
   * acknowledged (kept for the loss hand-back), which include what the socket
   * has not written yet (ws's bufferedAmount).
   */
  queuedBytes(): number {
    // A sent frame stays unacknowledged while it waits in ws's buffer too: count it once.
    return Math.max(this.unackedBytes, this.ws.bufferedAmount);
  }

  /** sentCount and ackedCount are the link's message counts so far (positions for loss-marker guards). */
  sentCount(): number {
    return this.sent;
  }

  ackedCount(): number {
    return this.acked;
  }

  /** send seals and writes one encoded frame; settle runs with true when acked, or is handed to onLost. */
  send(frame: F, data: Buffer, settle: (delivered: boolean) => void): void {
    if (this.gone) {
      settle(false);
      return;
    }
    this.pending.push({ frame, settle });
    this.sizes.push(data.length);
    this.unackedBytes += data.length;
    this.sent++;
    this.sealer.seal(data);
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

  /**
   * A peer that stops answering pings is gone even if TCP has not noticed;
   * one that answers them but acks nothing across two ticks while frames wait
   * is stalled (or something between drops its frames): both are given up.
   */
  private tick(onFault: ((fault: OutboundFault) => void) | undefined): void {
    const stalled = this.unacked() > 0 && this.acked === this.ackedAtTick;
    if (!this.alive || (stalled && this.stalledBefore)) {
      if (this.alive) onFault?.('ack_stalled');
      this.ws.terminate();
      return;
    }
    this.stalledBefore = stalled;
    this.ackedAtTick = this.acked;
    this.alive = false;
    this.ws.ping();
  }

  private ack(count: number): void {
    if (count > this.sent) {
      this.abandon();
      return;
    }
    while (this.acked < count) {
      const entry = this.pending[this.head]!;
      this.unackedBytes -= this.sizes[this.head]!;
      this.head++;
      this.acked++;
      entry.settle(true);
    }
    // Compact now and then so the queue does not grow with the link's age.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    clearInterval(this.pingTimer);
    const unacked = this.pending.slice(this.head);
    this.pending.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.acked = this.sent;
    this.unackedBytes = 0;
    this.lostHandler?.(unacked);
  }
}
