// The client frame path (docs/protocol.md#routing-client): size, parse, the routing checks, the
// limiter the frame spends, request tracking and session ownership (docs/protocol.md#weak-session-ownership),
// then delivery to the local daemon, or elsewhere through presence. It returns
// an Outcome; the hub reports it. This is the per-frame path: a delivered
// frame allocates nothing here and moves counter handles resolved once.
import type { CounterHandle, FrameTally, RelayMetrics } from '../admin/metrics.js';
import type { Config } from '../config/index.js';
import { parseClientFrameBytes } from '../frames/index.js';
import { checkClientFrame, deliverClientFrame, ownsSession } from '../routing/route.js';
import type { ScopeRegistry } from '../routing/scope-registry.js';
import { sameOwner } from '../routing/scope.js';
import type { ClientRemote } from './client-remote.js';
import type { SessionLimits } from './limits.js';
import { closeOutcome, type Outcome } from './outcomes.js';
import type { Outbox } from './outbox.js';
import { isOpen, scopeOf, type Peer } from './peer.js';
import type { SessionEvents } from './session-events.js';

/** ClientPathDeps are the client path's option group and collaborators. */
export interface ClientPathDeps {
  readonly limits: Config['limits'];
  readonly scopes: ScopeRegistry<Peer>;
  readonly rate: SessionLimits;
  readonly out: Outbox;
  readonly metrics: RelayMetrics;
  readonly sessionEvents: SessionEvents;
  readonly remote: ClientRemote;
}

/** ClientPath routes one client frame. */
export class ClientPath {
  private readonly maxFrameBytes: number;
  private readonly scopes: ScopeRegistry<Peer>;
  private readonly rate: SessionLimits;
  private readonly out: Outbox;
  private readonly sessionEvents: SessionEvents;
  private readonly remote: ClientRemote;
  private readonly toDaemon: CounterHandle;
  private readonly toDaemonBytes: CounterHandle;
  private readonly toDaemonTally: FrameTally;

  constructor(deps: ClientPathDeps) {
    this.maxFrameBytes = deps.limits.maxFrameBytes;
    this.scopes = deps.scopes;
    this.rate = deps.rate;
    this.out = deps.out;
    this.sessionEvents = deps.sessionEvents;
    this.remote = deps.remote;
    this.toDaemon = deps.metrics.counter('frames_client_to_daemon_total');
    this.toDaemonBytes = deps.metrics.counter('bytes_client_to_daemon_total');
    this.toDaemonTally = deps.metrics.frameTally('client_to_daemon');
  }

  /** onFrame checks and routes one frame of a client peer. */
  onFrame(peer: Peer, buf: Buffer, isBinary: boolean, now: number): Outcome {
    if (buf.length > this.maxFrameBytes) return 'frame_too_large';
    if (peer.sender === undefined) return 'done';
    const parsed = parseClientFrameBytes(buf);
    const frame = parsed.ok ? parsed.frame : null;
    const check = checkClientFrame(frame, peer.sender);
    switch (check.action) {
      case 'status':
        return check.code === 'INVALID_FRAME' ? `client_invalid:${parsed.ok ? 'scope' : parsed.error.reason}` : 'session_events_scope_only';
      case 'close':
        return closeOutcome(check.reason);
      case 'subscribe':
      case 'unsubscribe':
      case 'presence':
        if (frame === null) return 'done';
        return this.sessionEvents.onFrame(peer, scopeOf(peer, this.scopes, now), frame, check.action, check.channel, check.allowed, buf, isBinary, now);
      case 'route':
        break;
    }
    // Tables are pruned by the cleanup timer; lookups check the TTL themselves.
    const scope = scopeOf(peer, this.scopes, now);
    if (check.limiter === 'kex') {
      if (!this.rate.kexInit(peer)) return 'kex_rate_limited';
    } else if (check.limiter === 'pairing') {
      if (!this.rate.pairingRequest(peer)) return 'pairing_rate_limited';
    } else if (!this.rate.runtime(peer, now)) return 'runtime_rate_limited';
    if (check.track) {
      // The first writer wins: a live requestId of another peer is refused, so its response cannot be taken.
      const table = check.track.table === 'kex' ? scope.kexRequests : scope.pairingRequests;
      if (!table.claim(check.track.requestId, { kind: 'local', peer }, now, sameOwner)) return 'request_id_taken';
    }
    if (check.sessionId !== undefined) {
      // docs/protocol.md#weak-session-ownership: a client may only speak in sessions its own key exchange opened.
      if (!ownsSession(scope, check.sessionId, peer, now)) return 'session_not_owned';
      scope.sessionOwners.touch(check.sessionId, now);
    }
    const delivery = deliverClientFrame(scope, isOpen);
    if (delivery.kind === 'daemon') {
      if (this.out.sendAt(delivery.daemon, buf, isBinary, now) === 'sent') {
        this.toDaemon.inc();
        this.toDaemonBytes.inc(buf.length);
        this.toDaemonTally.add(buf.length);
      }
      return 'done';
    }
    if (delivery.kind === 'target_required') return 'runtime_target_required';
    this.remote.route(peer, scope, buf);
    return 'done';
  }
}
