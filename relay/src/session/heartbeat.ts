// The heartbeat of docs/protocol.md#heartbeat as a decision per peer: end it for idleness or a
// missed pong, ping it, or leave it alone. Apart from the hub so the timing
// rules read as one pure function of the peer's clocks and the timers option
// group; the hub applies the decision.
import type { Config } from '../config/index.js';
import type { Peer } from './peer.js';

/** HeartbeatStep is what one heartbeat pass does to a peer. */
export type HeartbeatStep = 'idle_timeout' | 'pong_timeout' | 'ping' | 'wait';

/** heartbeatStep decides a peer's step at now. */
export function heartbeatStep(peer: Peer, now: number, timers: Config['timers']): HeartbeatStep {
  // Daemons wait for clients as their normal state, so idleness only ends clients and workers.
  if (peer.role !== 'workspace-daemon' && now - peer.lastActivityAt > timers.idleTimeoutMs) return 'idle_timeout';
  if (peer.pingOutstanding) return now - peer.lastPingAt > timers.pongTimeoutMs ? 'pong_timeout' : 'wait';
  return now - peer.lastPingAt >= timers.pingIntervalMs ? 'ping' : 'wait';
}

/** ping sends a ping and notes that its pong is outstanding; a socket that cannot ping is terminated. */
export function ping(peer: Peer, now: number): void {
  peer.pingOutstanding = true;
  peer.lastPingAt = now;
  try {
    peer.ws.ping();
  } catch {
    peer.ws.terminate();
  }
}
