// Write coalescing: each ws.send is its own write syscall (and, on loopback,
// the receiver's wake-up), which is most of a small frame's cost. A peer's
// socket is corked at its first frame in an event-loop turn and uncorked once
// the turn's I/O callbacks have run (setImmediate), so every frame routed to
// that peer in the turn leaves in one writev. Bytes and order are unchanged;
// a frame waits at most for the rest of the turn. A batch is released early
// once it holds COALESCE_FLUSH_BYTES, and always before the hub judges a peer
// too slow (§5.8): bytes held here must never count as the peer's backlog.
import type { Peer } from './peer.js';

/** WriteBatch corks peers' sockets for the rest of the current turn. Only the hub's send path uses it. */
export class WriteBatch {
  private pending: Peer[] = [];
  private scheduled = false;
  private readonly flush = (): void => {
    const peers = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (const peer of peers) this.release(peer);
  };

  /** release uncorks peer's socket now (a batch that grew large, or before judging overflow); a no-op when not corked. */
  release(peer: Peer): void {
    if (!peer.corked) return;
    peer.corked = false;
    peer.socket?.uncork();
  }

  /** hold corks peer's socket until the end of this turn, or until released. */
  hold(peer: Peer): void {
    if (peer.corked || peer.socket === undefined) return;
    peer.socket.cork();
    peer.corked = true;
    this.pending.push(peer);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }
}
