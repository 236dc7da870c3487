// One admitted WebSocket peer and the only way the relay writes to it: send()
// never awaits, drops when the socket is not OPEN, and closes a peer whose
// unsent bytes pass RELAY_MAX_PENDING_BYTES (docs/protocol.md#backpressure) so it cannot stall
// routing for anyone else.
import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import type { Claims, ClientScope, Role } from '../admission/claims.js';
import type { InboundBudget } from '../limits/index.js';
import type { ClientSender } from '../routing/route.js';
import type { ScopeState } from '../routing/scope.js';
import type { ScopeRegistry } from '../routing/scope-registry.js';

/** Peer is an admitted connection; fields other than timers are fixed at admission. */
export interface Peer {
  readonly id: number;
  readonly role: Role;
  readonly ws: WebSocket;
  readonly ip: string;
  readonly workspaceId: string;
  /** Effective target (claim, else query); undefined for workers. */
  readonly runtimeTargetId: string | undefined;
  readonly claims: Claims;
  readonly clientScope: ClientScope | undefined;
  readonly clientId: string;
  /** Routing view of a client; undefined for daemons and workers. */
  readonly sender: ClientSender | undefined;
  readonly connectedAt: number;
  /** Last frame in or out; pings and pongs do not count (docs/protocol.md#weak-liveness). Written by the hub and heartbeat only. */
  lastActivityAt: number;
  lastPingAt: number;
  pingOutstanding: boolean;
  closing: boolean;
  /** What the peer may still send before its socket is paused (docs/protocol.md#inbound-budget). */
  readonly budget: InboundBudget;
  /** Reading is paused until the budget's debt is repaid. Only the hub touches it. */
  throttled: boolean;
  /** Closes the peer at its token's exp (docs/protocol.md#token-lifetime); cleared on close. */
  expiry: ReturnType<typeof setTimeout> | undefined;
  /** The socket under ws, when known: the hub corks it to coalesce one turn's frames into one write. */
  readonly socket: Writable | undefined;
  /** The socket is corked until the hub's next flush. Only WriteBatch touches it. */
  corked: boolean;
  /**
   * The scope a client or daemon joined at registration, so routing skips the
   * registry's two map lookups per frame. The registry keeps the same scope for as
   * long as the peer is in it: a scope with a daemon or a client is never evicted.
   */
  scope: ScopeState<Peer> | undefined;
}

/** SendOutcome says what happened to one outbound frame. */
export type SendOutcome = 'sent' | 'not_open' | 'overflow';

/** isOpen: the peer can take frames. */
export function isOpen(peer: Peer): boolean {
  return peer.ws.readyState === WebSocket.OPEN && !peer.closing;
}

// After asking a stalled peer to close, give its close frame this long to drain.
const FORCE_TERMINATE_MS = 5000;

/** closePeer closes with code/reason once, and terminates if the close handshake stalls. */
export function closePeer(peer: Peer, code: number, reason: string): void {
  if (peer.closing) return;
  peer.closing = true;
  try {
    peer.ws.close(code, reason);
  } catch {
    peer.ws.terminate();
    return;
  }
  const t = setTimeout(() => peer.ws.terminate(), FORCE_TERMINATE_MS);
  t.unref();
  peer.ws.once('close', () => clearTimeout(t));
}

/**
 * sendToPeer writes data (the original bytes and opcode when forwarding) without waiting.
 * If the peer already holds maxPendingBytes unsent, the frame is dropped and
 * the peer is closed 4008 `buffer overflow`.
 */
export function sendToPeer(peer: Peer, data: string | Buffer, maxPendingBytes: number, now: number, isBinary = false): SendOutcome {
  if (!isOpen(peer)) return 'not_open';
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (peer.ws.bufferedAmount + size > maxPendingBytes) return 'overflow';
  peer.lastActivityAt = now;
  peer.ws.send(data, isBinary ? BINARY : TEXT);
  return 'sent';
}

// ws copies send options into its own object, so two shared ones spare an allocation per frame.
const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** scopeOf is the scope the peer joined, else its scope in the registry (created if need be). */
export function scopeOf(peer: Peer, scopes: ScopeRegistry<Peer>, now: number): ScopeState<Peer> {
  return peer.scope ?? scopes.ensure(peer.workspaceId, peer.runtimeTargetId, now);
}
