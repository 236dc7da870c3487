// Connection bookkeeping: the set of admitted peers, open peers by role, and
// the total and per-IP counts the upgrade checks read (docs/protocol.md#weak-worker-accounting). Apart from the
// hub because the upgrade path reserves slots here before a socket exists, and
// none of it has anything to do with routing frames.
import type { PeerRole } from '../admin/metrics.js';
import type { Peer } from './peer.js';

/** Connections counts admitted and admitting peers. */
export class Connections {
  readonly peers = new Set<Peer>();
  // Kept as peers come and go: counting the set on every connect and close made a
  // reconnect storm of n peers cost O(n²).
  private readonly openByRole: Record<PeerRole, number> = { 'workspace-daemon': 0, client: 0, worker: 0 };
  private readonly perIp = new Map<string, number>();
  private pendingTotal = 0;
  private nextId = 1;

  /** total counts every open or admitting peer, workers included (docs/protocol.md#weak-worker-accounting). */
  total(): number {
    return this.peers.size + this.pendingTotal;
  }

  ipCount(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** reserve counts an upgrade in flight against the total and per-IP caps; release undoes it. */
  reserve(ip: string): void {
    this.pendingTotal += 1;
    this.perIp.set(ip, this.ipCount(ip) + 1);
  }

  release(ip: string): void {
    this.pendingTotal = Math.max(0, this.pendingTotal - 1);
    this.releaseIp(ip);
  }

  /** takeId moves an upgrade's reservation to its socket (its IP stays counted) and numbers the peer. */
  takeId(): number {
    this.pendingTotal = Math.max(0, this.pendingTotal - 1);
    return this.nextId++;
  }

  add(peer: Peer): void {
    this.peers.add(peer);
    this.openByRole[peer.role] += 1;
  }

  /** remove forgets a peer and its IP slot; false when it was already gone. */
  remove(peer: Peer): boolean {
    if (!this.peers.delete(peer)) return false;
    this.openByRole[peer.role] -= 1;
    this.releaseIp(peer.ip);
    return true;
  }

  /** roleCounts counts open peers by role. */
  roleCounts(): Record<PeerRole, number> {
    return { ...this.openByRole };
  }

  private releaseIp(ip: string): void {
    const n = this.ipCount(ip) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
  }
}
