// Write coalescing: each ws.send is its own write syscall (and, on loopback,
// the receiver's wake-up), which is most of a small frame's cost under load.
// In a busy turn a peer's socket is corked at its first frame and uncorked
// once the turn's I/O callbacks have run (setImmediate), so every frame routed
// to that peer in the turn leaves in one writev. In a quiet turn (the previous
// turn sent at most QUIET_TURN_SENDS frames, and so far this one has too) a
// frame leaves at once: holding it would add the rest of the turn to its
// latency and save no syscall worth having. Bytes and order are unchanged
// either way. A batch is released early once it holds COALESCE_FLUSH_BYTES,
// and always before the hub judges a peer too slow (docs/protocol.md#backpressure): bytes held here
// must never count as the peer's backlog.
import type { Peer } from './peer.js';

/** A turn that sends no more frames than this is quiet: its frames are written at once. */
export const QUIET_TURN_SENDS = 8;

/** WriteBatch corks peers' sockets for the rest of a busy turn. Only the hub's send path uses it. */
export class WriteBatch {
  private pending: Peer[] = [];
  private scheduled = false;
  private sendsThisTurn = 0;
  private lastTurnBusy = false;
  private readonly endTurn = (): void => {
    this.lastTurnBusy = this.sendsThisTurn > QUIET_TURN_SENDS;
    this.sendsThisTurn = 0;
    this.scheduled = false;
    const peers = this.pending;
    this.pending = [];
    for (const peer of peers) this.release(peer);
  };

  /** release uncorks peer's socket now (a batch that grew large, or before judging overflow); a no-op when not corked. */
  release(peer: Peer): void {
    if (!peer.corked) return;
    peer.corked = false;
    peer.socket?.uncork();
  }

  /**
   * hold is called before each small frame is written to peer. It counts the frame
   * towards this turn and, once the relay is busy, corks peer's socket until the
   * end of the turn or until released.
   */
  hold(peer: Peer): void {
    this.sendsThisTurn++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.endTurn);
    }
    if (peer.corked || peer.socket === undefined) return;
    if (!this.lastTurnBusy && this.sendsThisTurn <= QUIET_TURN_SENDS) return;
    peer.socket.cork();
    peer.corked = true;
    this.pending.push(peer);
  }
}
