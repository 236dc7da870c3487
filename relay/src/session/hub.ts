// The session hub: every admitted socket, the scope registry, and the thin
// dispatcher over the parts that do the work. A socket's events come here and
// go to one part: its frames to the client, daemon or worker path, frames from
// other relays to the bus inbound path, its arrival and departure to
// membership, timer ticks to the heartbeat and cleanup. Each path returns an
// Outcome that the outbox reports from the one table in outcomes.ts. Only the
// Node event loop touches this state, so there is no locking; nothing here
// awaits a socket.
import type WebSocket from 'ws';
import type { RawData } from 'ws';
import type { Backplane } from '../backplane/backplane.js';
import type { BusFrame } from '../bus/types.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../admin/log.js';
import type { PeerRole, RelayMetrics } from '../admin/metrics.js';
import { relayStatus } from '../frames/index.js';
import { inboundRates, type InboundRates } from '../limits/index.js';
import { isEvictable, pruneScope, REQUEST_TTL_MS, SESSION_OWNER_TTL_MS } from '../routing/scope.js';
import { ScopeRegistry } from '../routing/scope-registry.js';
import { BusInbound } from './bus-inbound.js';
import { ClientPath } from './client-path.js';
import { ClientRemote } from './client-remote.js';
import { Connections } from './connections.js';
import { DaemonPath } from './daemon-path.js';
import { heartbeatStep, ping } from './heartbeat.js';
import { SessionLimits } from './limits.js';
import { Membership, newPeer, type Admitted } from './membership.js';
import type { Outcome } from './outcomes.js';
import { Outbox } from './outbox.js';
import { closePeer, type Peer, type SendOutcome } from './peer.js';
import { PresenceSync } from './presence-sync.js';
import { SessionEvents } from './session-events.js';
import { WorkerPath, type WorkerForwarder } from './worker-path.js';

// setTimeout's largest delay; admission bounds token lifetimes far below it.
const MAX_TIMER_MS = 2 ** 31 - 1;

export type { Admitted } from './membership.js';
export type { WorkerForwarder } from './worker-path.js';

/** HubConfig is the part of the relay's configuration the session uses. */
export type HubConfig = Pick<Config, 'limits' | 'timers' | 'backplane' | 'relayId' | 'publicWsBaseUrl' | 'mode' | 'tls'>;

/** HubDeps are the hub's collaborators, injected by createRelay. */
export interface HubDeps {
  readonly config: HubConfig;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly backplane: Backplane;
  readonly now: () => number;
  readonly forwardWorker: WorkerForwarder;
}

/** SessionHub owns admitted peers and routes their frames. */
export class SessionHub {
  readonly peers: Set<Peer>;
  readonly scopes: ScopeRegistry<Peer>;
  private readonly connections = new Connections();
  private readonly timers: Config['timers'];
  private readonly out: Outbox;
  private readonly rate: SessionLimits;
  private readonly presence: PresenceSync;
  private readonly membership: Membership;
  private readonly client: ClientPath;
  private readonly daemon: DaemonPath;
  private readonly worker: WorkerPath;
  private readonly bus: BusInbound;
  /** Inbound budgets by role: clients get theirs, daemons and workers the larger one. */
  private readonly clientRates: InboundRates;
  private readonly daemonRates: InboundRates;

  constructor(private readonly deps: HubDeps) {
    const { config, metrics, backplane, now } = deps;
    const { limits, backplane: backplaneConfig } = config;
    this.peers = this.connections.peers;
    this.timers = config.timers;
    const scopes = new ScopeRegistry<Peer>({
      requestTtlMs: REQUEST_TTL_MS,
      sessionOwnerTtlMs: SESSION_OWNER_TTL_MS,
      requestTrackMax: limits.pairingRequestTrackMax,
      sessionOwnerTrackMax: limits.sessionOwnerTrackMax,
    });
    this.scopes = scopes;
    const { maxFrameBytes, maxInvalidFramesPerMinute: invalidPerMinute } = limits;
    this.clientRates = inboundRates({ framesPerSecond: limits.clientInboundFramesPerSecond, bytesPerSecond: limits.clientInboundBytesPerSecond, maxFrameBytes, invalidPerMinute });
    this.daemonRates = inboundRates({ framesPerSecond: limits.daemonInboundFramesPerSecond, bytesPerSecond: limits.daemonInboundBytesPerSecond, maxFrameBytes, invalidPerMinute });
    const out = new Outbox({ limits, relayId: config.relayId, metrics, log: deps.log, backplane, now });
    const rate = new SessionLimits(limits, now);
    const presence = new PresenceSync({ backplaneConfig, self: config, backplane, out, now });
    this.out = out;
    this.rate = rate;
    this.presence = presence;
    this.membership = new Membership(scopes, out, presence);
    this.client = new ClientPath({
      limits,
      scopes,
      rate,
      out,
      metrics,
      sessionEvents: new SessionEvents(rate, out, metrics),
      remote: new ClientRemote({ backplaneConfig, self: config, backplane, presence, out }),
    });
    this.daemon = new DaemonPath({ limits, backplaneConfig, scopes, rate, out, metrics, backplane });
    this.worker = new WorkerPath(limits, rate, out, metrics, deps.forwardWorker);
    this.bus = new BusInbound(limits, scopes, rate, out, metrics, this.daemon);
    // Another relay's queue for us was full and refused daemon frames for this
    // scope's clients here: close them (1013, retryable) so the loss is not silent.
    backplane.onBusLoss((loss) => {
      const scope = scopes.get(loss.workspaceId, loss.runtimeTargetId);
      if (scope !== undefined && scope.clients.size > 0) this.out.log('warn', 'peer_closed', { role: 'client', workspaceId: loss.workspaceId, reason: 'bus frames lost', code: 1013, peers: scope.clients.size });
      for (const peer of scope?.clients ?? []) closePeer(peer, 1013, 'bus frames lost');
    });
  }

  // ---- connection accounting (used by the upgrade checks) ----

  /** connectionCount counts every open or admitting peer, workers included (docs/protocol.md#weak-worker-accounting). */
  connectionCount(): number {
    return this.connections.total();
  }

  ipCount(ip: string): number {
    return this.connections.ipCount(ip);
  }

  /** reserve counts an upgrade in flight against the total and per-IP caps; release undoes it. */
  reserve(ip: string): void {
    this.connections.reserve(ip);
  }

  release(ip: string): void {
    this.connections.release(ip);
  }

  /** clientCount is the number of clients in the (claim-resolved) scope, without creating it (docs/protocol.md#weak-client-cap). */
  clientCount(workspaceId: string, runtimeTargetId: string | undefined): number {
    return this.scopes.get(workspaceId, runtimeTargetId)?.clients.size ?? 0;
  }

  /** roleCounts counts open peers by role. */
  roleCounts(): Record<PeerRole, number> {
    return this.connections.roleCounts();
  }

  // ---- a socket's life ----

  /** register takes over a socket right after its 101; the reservation made at upgrade moves to the socket. */
  register(ws: WebSocket, admitted: Admitted): void {
    const now = this.deps.now();
    const rates = admitted.query.role === 'client' ? this.clientRates : this.daemonRates;
    const peer = newPeer(this.connections.takeId(), ws, admitted, rates, now);
    this.connections.add(peer);
    this.deps.metrics.inc('ws_connections_opened_total');
    // docs/protocol.md#weak-socket-errors: an error listener before anything else, so no socket error can crash the process.
    ws.on('error', (err: Error & { code?: string }) => this.onSocketError(peer, err));
    ws.on('close', () => this.onClose(peer));
    ws.on('pong', () => {
      peer.pingOutstanding = false;
    });

    const { check, query } = admitted;
    if (!check.ok) {
      if (check.sendTargetRequired) this.out.send(peer, relayStatus('RUNTIME_TARGET_REQUIRED', query.workspaceId, {}));
      this.out.report(`refused:${check.reason}`, peer);
      return;
    }
    ws.on('message', (data, isBinary) => this.onMessage(peer, data, isBinary));
    if (peer.claims.exp !== undefined) this.closeAtExpiry(peer, peer.claims.exp * 1000 - now);
    if (peer.role === 'workspace-daemon') this.membership.joinAsDaemon(peer, admitted.persistedGeneration, now);
    else if (peer.role === 'client') this.membership.joinAsClient(peer, admitted.redirectTo, now);
    else this.out.log('info', 'worker_connected', { workspaceId: peer.workspaceId });
    this.refreshGauges();
  }

  private onMessage(peer: Peer, data: RawData, isBinary: boolean): void {
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const now = this.deps.now();
      peer.lastActivityAt = now;
      if (peer.closing) return;
      // docs/protocol.md#inbound-budget: every frame pays before it is parsed, valid or not.
      const debtMs = peer.budget.spend(buf.length, now);
      if (debtMs > 0) this.throttle(peer, debtMs);
      let outcome: Outcome;
      if (peer.role === 'client') outcome = this.client.onFrame(peer, buf, isBinary, now);
      else if (peer.role === 'workspace-daemon') outcome = this.daemon.onFrame(peer, buf, isBinary, now);
      else outcome = this.worker.onFrame(peer, buf);
      if (outcome !== 'done') this.out.report(outcome, peer);
    } catch (err) {
      // A routing bug must cost one frame, never the process.
      this.out.report('internal_error');
      this.out.log('error', 'frame_handler_failed', { role: peer.role, error: (err as Error).name });
    }
  }

  // throttle stops reading a peer that spent more than its budget until the debt is repaid,
  // so its backlog waits in its own TCP window. Frames ws had already read still arrive and
  // are charged; one timer per throttled peer, none on the ordinary path.
  private throttle(peer: Peer, debtMs: number): void {
    if (peer.throttled) return;
    peer.throttled = true;
    peer.ws.pause();
    this.out.report('inbound_throttled', peer);
    const t = setTimeout(() => {
      peer.throttled = false;
      peer.ws.resume();
    }, debtMs);
    t.unref();
  }

  // closeAtExpiry closes the peer 4001 `token expired` when its token's exp passes: one timer
  // per connection, nothing per frame. Daemons too, though the idle timeout spares them.
  private closeAtExpiry(peer: Peer, inMs: number): void {
    peer.expiry = setTimeout(() => this.out.report('token_expired', peer), Math.min(Math.max(inMs, 0), MAX_TIMER_MS));
    peer.expiry.unref();
  }

  private onClose(peer: Peer): void {
    clearTimeout(peer.expiry);
    if (!this.connections.remove(peer)) return;
    const now = this.deps.now();
    this.deps.metrics.inc('ws_connections_closed_total');
    this.membership.leave(peer, now);
    this.refreshGauges();
  }

  private onSocketError(peer: Peer, err: Error & { code?: string }): void {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.out.report('socket_frame_too_large');
    this.out.log('debug', 'socket_error', { role: peer.role, code: err.code ?? 'unknown' });
  }

  /** onBusFrame routes a frame another relay addressed to us (docs/protocol.md#bus-ingress). */
  onBusFrame(frame: BusFrame): void {
    try {
      this.out.report(this.bus.onFrame(frame, this.deps.now()));
    } catch (err) {
      this.out.report('internal_error');
      this.out.log('error', 'bus_frame_failed', { error: (err as Error).name });
    }
  }

  /** send writes to a peer, closing it 4008 `buffer overflow` when it cannot keep up (docs/protocol.md#backpressure). */
  send(peer: Peer, data: string | Buffer, isBinary = false): SendOutcome {
    return this.out.send(peer, data, isBinary);
  }

  // ---- timers ----

  /** syncPresence re-announces this relay's open daemons (docs/protocol.md#presence refresh). */
  syncPresence(): void {
    this.presence.sync(this.scopes.all());
  }

  /** heartbeat runs one pass of docs/protocol.md#heartbeat: idle and pong timeouts, then pings. Called by a relay-wide timer. */
  heartbeat(): void {
    const now = this.deps.now();
    for (const peer of this.connections.peers) {
      const step = heartbeatStep(peer, now, this.timers);
      if (step === 'ping') ping(peer, now);
      else if (step !== 'wait') this.terminate(peer, step);
    }
  }

  // terminate drops a dead or idle peer and forgets it at once, in the same turn as
  // the counter moves: ws emits 'close' only after the socket is torn down, and until
  // then /state, caps and routing would still count a peer that is already gone.
  private terminate(peer: Peer, outcome: 'idle_timeout' | 'pong_timeout'): void {
    this.out.report(outcome);
    peer.ws.terminate();
    this.onClose(peer);
  }

  /** cleanup evicts idle empty scopes, prunes tables, sweeps limiters and refreshes gauges (docs/protocol.md#roles-and-scopes). */
  cleanup(): void {
    const now = this.deps.now();
    for (const scope of [...this.scopes.all()]) {
      pruneScope(scope, now);
      if (isEvictable(scope, now, this.timers.emptyWorkspaceTtlMs)) {
        this.scopes.delete(scope);
        this.out.report('workspace_evicted');
      }
    }
    this.rate.sweep();
    this.refreshGauges();
  }

  refreshGauges(): void {
    const counts = this.roleCounts();
    this.deps.metrics.setConnections(counts, counts['workspace-daemon'] + counts.client, this.scopes.size);
  }
}
