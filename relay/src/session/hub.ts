// The session hub: every admitted socket, the scope registry, and the I/O side
// of routing. Pure decisions come from routing/; this file applies them to
// sockets, limiters, metrics and the backplane. Only the Node event loop
// touches this state, so there is no locking; nothing here awaits a socket.
import type { Writable } from 'node:stream';
import type WebSocket from 'ws';
import type { RawData } from 'ws';
import type { Backplane } from '../backplane/backplane.js';
import type { BusFrame, PresenceRecord } from '../bus/types.js';
import { busPayloadSize } from '../bus/payload-size.js';
import type { Claims } from '../admission/claims.js';
import type { CrossCheck, QueryIds } from '../admission/cross-check.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../admin/log.js';
import type { CompatCounter, CounterHandle, FrameTally, PeerRole, RelayMetrics } from '../admin/metrics.js';
import {
  CloseCode,
  CloseReason,
  parseClientFrameBytes,
  parseDaemonFrameBytes,
  parseWorkerFrame,
  relayStatus,
  sessionSubscribed,
  sessionSubscribeDenied,
  sessionUnsubscribed,
  viewerPresenceDenied,
  workerPathDenied,
  type ClientFrame,
  type RelayCloseReason,
  type WorkerRequest,
} from '../frames/index.js';
import { FixedWindowLimiter, TokenBucketLimiter } from '../limits/index.js';
import { authorizeWorkerPath } from '../worker/path.js';
import { decideDaemonSlot } from '../routing/daemon-slot.js';
import { connectedPresence, isRedirectUrlAllowed, shouldRedirect, type RedirectPolicy } from '../routing/redirect-policy.js';
import {
  allowedChannels,
  checkClientFrame,
  checkDaemonProfile,
  deliverClientFrame,
  ownsSession,
  presenceRecipients,
  routeDaemonFrame,
  type DaemonRoute,
} from '../routing/route.js';
import { forgetPeer, isEvictable, pruneScope, REQUEST_TTL_MS, SESSION_OWNER_TTL_MS, type ScopeState } from '../routing/scope.js';
import { ScopeRegistry } from '../routing/scope-registry.js';
import { closePeer, isOpen, sendToPeer, type Peer, type SendOutcome } from './peer.js';
import { WriteBatch } from './write-batch.js';

/** WorkerForwarder performs one worker transport request and yields the reply frame text. */
export type WorkerForwarder = (request: WorkerRequest, authorizedPath: string) => Promise<{ frame: string; ok: boolean }>;

/** HubDeps are the hub's collaborators, injected by createRelay. */
export interface HubDeps {
  readonly config: Config;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly backplane: Backplane;
  readonly now: () => number;
  readonly forwardWorker: WorkerForwarder;
}

/** Admitted is everything the upgrade learned about a peer before the 101. */
export interface Admitted {
  readonly query: QueryIds;
  readonly ip: string;
  readonly claims: Claims;
  readonly check: CrossCheck;
  /** Generation recorded in presence for the scope (G-5), when known. */
  readonly persistedGeneration: number | null;
  /** Presence says the scope's daemon lives elsewhere: tell the client after registration (§7.7). */
  readonly redirectTo?: string | undefined;
  /** The upgraded socket under ws, so sends can be coalesced per turn (write-batch.ts). */
  readonly socket?: Writable | undefined;
}

// Frames up to this size are coalesced per turn (write-batch.ts), in batches of up to about COALESCE_FLUSH_BYTES.
const COALESCE_MAX_BYTES = 4096;
const COALESCE_FLUSH_BYTES = 16384;

type RouteFamily = 'kex' | 'pairing' | 'session';
const FAMILY_COUNTERS: Record<RouteFamily, { local: CompatCounter; bus: CompatCounter; dropped: CompatCounter }> = {
  kex: {
    local: 'key_exchange_response_routed_local_total',
    bus: 'key_exchange_response_routed_bus_total',
    dropped: 'key_exchange_response_dropped_total',
  },
  pairing: {
    local: 'pairing_response_routed_local_total',
    bus: 'pairing_response_routed_bus_total',
    dropped: 'pairing_response_dropped_total',
  },
  session: {
    local: 'session_frame_routed_local_total',
    bus: 'session_frame_routed_bus_total',
    dropped: 'session_frame_dropped_total',
  },
};

/** HotCounters are the counters every routed frame moves, resolved once (see RelayMetrics.counter). */
interface HotCounters {
  readonly clientToDaemon: CounterHandle;
  readonly clientToDaemonBytes: CounterHandle;
  readonly clientToDaemonTally: FrameTally;
  readonly daemonToClients: CounterHandle;
  readonly busToClients: CounterHandle;
  readonly daemonToClientsBytes: CounterHandle;
  readonly daemonToClientTally: FrameTally;
  readonly family: Record<RouteFamily, { local: CounterHandle; bus: CounterHandle; dropped: CounterHandle }>;
}

function hotCounters(m: RelayMetrics): HotCounters {
  const family = (f: RouteFamily) => ({ local: m.counter(FAMILY_COUNTERS[f].local), bus: m.counter(FAMILY_COUNTERS[f].bus), dropped: m.counter(FAMILY_COUNTERS[f].dropped) });
  return {
    clientToDaemon: m.counter('frames_client_to_daemon_total'),
    clientToDaemonBytes: m.counter('bytes_client_to_daemon_total'),
    clientToDaemonTally: m.frameTally('client_to_daemon'),
    daemonToClients: m.counter('frames_daemon_to_clients_total'),
    busToClients: m.counter('bus_frames_to_clients_total'),
    daemonToClientsBytes: m.counter('bytes_daemon_to_clients_total'),
    daemonToClientTally: m.frameTally('daemon_to_client'),
    family: { kex: family('kex'), pairing: family('pairing'), session: family('session') },
  };
}

/** SessionHub owns admitted peers and routes their frames. */
export class SessionHub {
  readonly peers = new Set<Peer>();
  // Kept as peers come and go: counting the set on every connect and close made a
  // reconnect storm of n peers cost O(n²).
  private readonly openByRole: Record<PeerRole, number> = { 'workspace-daemon': 0, client: 0, worker: 0 };
  readonly scopes: ScopeRegistry<Peer>;
  private readonly perIp = new Map<string, number>();
  private nextId = 1;
  private readonly cfg: Config;
  private readonly redirectPolicy: RedirectPolicy;
  private readonly kexLimiter: FixedWindowLimiter;
  private readonly pairingLimiter: FixedWindowLimiter;
  private readonly runtimeClientLimiter: TokenBucketLimiter;
  private readonly runtimeWorkspaceLimiter: TokenBucketLimiter;
  private readonly daemonLimiter: TokenBucketLimiter;
  private readonly isOpen = (p: Peer) => isOpen(p);
  private readonly batch = new WriteBatch();
  private readonly hot: HotCounters;
  /** The tail of each client's frames waiting on presence; only onClientFrame touches it. */
  private readonly presenceChains = new WeakMap<Peer, Promise<unknown>>();

  constructor(private readonly deps: HubDeps) {
    const cfg = deps.config;
    this.cfg = cfg;
    this.hot = hotCounters(deps.metrics);
    const l = cfg.limits;
    this.scopes = new ScopeRegistry<Peer>({
      requestTtlMs: REQUEST_TTL_MS,
      sessionOwnerTtlMs: SESSION_OWNER_TTL_MS,
      requestTrackMax: l.pairingRequestTrackMax,
      sessionOwnerTrackMax: l.sessionOwnerTrackMax,
    });
    const now = deps.now;
    this.kexLimiter = new FixedWindowLimiter({ max: l.kexInitRatePerMinute, windowMs: 60_000, maxKeys: l.kexRateLimiterMaxKeys, now });
    this.pairingLimiter = new FixedWindowLimiter({ max: l.pairingRatePerMinute, windowMs: 60_000, maxKeys: l.pairingRateLimiterMaxKeys, now });
    this.runtimeClientLimiter = new TokenBucketLimiter({ capacityPerMinute: l.runtimeRatePerMinute, maxKeys: l.runtimeRateLimiterMaxKeys, now });
    this.runtimeWorkspaceLimiter = new TokenBucketLimiter({
      capacityPerMinute: l.runtimeRatePerMinuteWorkspace,
      maxKeys: l.runtimeWorkspaceRateLimiterMaxKeys,
      now,
    });
    this.daemonLimiter = new TokenBucketLimiter({ capacityPerMinute: l.daemonRuntimeRatePerMinute, maxKeys: l.daemonRateLimiterMaxKeys, now });
    this.redirectPolicy = {
      prod: cfg.mode === 'prod',
      allowedHosts: cfg.backplane.redirectAllowedHosts,
      ownPublicUrl: cfg.publicWsBaseUrl,
      tlsHost: cfg.tls.host,
    };
    // Another relay's queue for us was full and refused daemon frames for this
    // scope's clients here: close them (1013, retryable) so the loss is not silent.
    deps.backplane.onBusLoss((loss) => {
      const scope = this.scopes.get(loss.workspaceId, loss.runtimeTargetId);
      for (const peer of scope?.clients ?? []) closePeer(peer, 1013, 'bus frames lost');
    });
  }

  // ---- connection accounting (used by the upgrade checks) ----

  /** connectionCount counts every open or admitting peer, workers included (G-11). */
  connectionCount(): number {
    return this.peers.size + this.pendingTotal;
  }
  private pendingTotal = 0;

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

  private releaseIp(ip: string): void {
    const n = this.ipCount(ip) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
  }

  /** clientCount is the number of clients in the (claim-resolved) scope, without creating it (G-13). */
  clientCount(workspaceId: string, runtimeTargetId: string | undefined): number {
    return this.scopes.get(workspaceId, runtimeTargetId)?.clients.size ?? 0;
  }

  // ---- registration ----

  /** register takes over a socket right after its 101; the reservation made at upgrade moves to the socket. */
  register(ws: WebSocket, admitted: Admitted): void {
    const now = this.deps.now();
    const { query, claims, check } = admitted;
    this.pendingTotal = Math.max(0, this.pendingTotal - 1);
    const peer: Peer = {
      id: this.nextId++,
      role: query.role,
      ws,
      ip: admitted.ip,
      workspaceId: check.ok ? check.workspaceId : query.workspaceId,
      runtimeTargetId: check.ok ? check.runtimeTargetId : undefined,
      claims,
      clientScope: check.ok ? check.clientScope : undefined,
      clientId: claims.clientId ?? 'client_unknown',
      sender:
        check.ok && check.clientScope !== undefined
          ? {
              scope: check.clientScope,
              e2eeProfile: claims.e2eeProfile,
              sessionChannels: allowedChannels(claims.sessionChannels),
              userId: claims.userId,
            }
          : undefined,
      connectedAt: now,
      lastActivityAt: now,
      lastPingAt: now,
      pingOutstanding: false,
      closing: false,
      socket: admitted.socket,
      corked: false,
      scope: undefined,
    };
    this.peers.add(peer);
    this.openByRole[peer.role] += 1;
    this.deps.metrics.inc('ws_connections_opened_total');
    // G-1: an error listener before anything else, so no socket error can crash the process.
    ws.on('error', (err: Error & { code?: string }) => this.onSocketError(peer, err));
    ws.on('close', () => this.onClose(peer));
    ws.on('pong', () => {
      peer.pingOutstanding = false;
    });

    if (!check.ok) {
      if (check.sendTargetRequired) this.send(peer, relayStatus('RUNTIME_TARGET_REQUIRED', query.workspaceId, {}));
      this.reject(peer, check.reason);
      return;
    }
    ws.on('message', (data, isBinary) => this.onMessage(peer, data, isBinary));
    if (peer.role === 'workspace-daemon') this.registerDaemon(peer, admitted.persistedGeneration, now);
    else if (peer.role === 'client') this.registerClient(peer, admitted.redirectTo, now);
    else this.log('info', 'worker_connected', { workspaceId: peer.workspaceId });
    this.refreshGauges();
  }

  private reject(peer: Peer, reason: RelayCloseReason): void {
    this.deps.metrics.inc('ws_connections_rejected_total');
    this.deps.metrics.rejectUpgrade(`post_upgrade:${reason}`);
    this.log('info', 'connection_rejected', { role: peer.role, workspaceId: peer.workspaceId, reason });
    closePeer(peer, CloseCode.policy, reason);
  }

  private scopeOf(peer: Peer, now: number): ScopeState<Peer> {
    return peer.scope ?? this.scopes.ensure(peer.workspaceId, peer.runtimeTargetId, now);
  }

  private registerDaemon(peer: Peer, persistedGeneration: number | null, now: number): void {
    const scope = this.scopeOf(peer, now);
    const incumbent = scope.daemon;
    const decision = decideDaemonSlot({
      incumbentOpen: incumbent !== null && isOpen(incumbent),
      storedGeneration: scope.daemonGeneration,
      persistedGeneration,
      generation: peer.claims.daemonIssueGeneration,
    });
    if (decision.action === 'refuse') {
      this.reject(peer, decision.reason);
      return;
    }
    if (decision.action === 'supersede' && incumbent !== null) {
      this.log('info', 'daemon_superseded', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
      closePeer(incumbent, CloseCode.policy, CloseReason.superseded);
    }
    scope.daemon = peer;
    peer.scope = scope;
    scope.daemonGeneration = peer.claims.daemonIssueGeneration ?? scope.daemonGeneration;
    scope.kexRequests.clear();
    scope.sessionOwners.clear();
    scope.lastActivityAt = now;
    pruneScope(scope, now);
    this.log('info', 'daemon_connected', {
      workspaceId: scope.workspaceId,
      runtimeTargetId: scope.runtimeTargetId,
      generation: scope.daemonGeneration,
    });
    this.upsertPresence(scope, peer);
  }

  private registerClient(peer: Peer, redirectTo: string | undefined, now: number): void {
    const scope = this.scopeOf(peer, now);
    scope.clients.add(peer);
    peer.scope = scope;
    scope.lastActivityAt = now;
    pruneScope(scope, now);
    if (redirectTo !== undefined) {
      this.deps.metrics.inc('client_redirect_total');
      this.send(peer, relayStatus('RELAY_REDIRECT', peer.workspaceId, { relayWsBaseUrl: redirectTo }));
    }
  }

  private upsertPresence(scope: ScopeState<Peer>, daemon: Peer): void {
    if (!this.cfg.backplane.presenceSyncEnabled) return;
    const runtimeTargetId = scope.runtimeTargetId;
    this.background(
      this.deps.backplane.upsertPresence({
        workspaceId: scope.workspaceId,
        runtimeTargetId,
        relayId: this.cfg.relayId,
        relayWsBaseUrl: this.cfg.publicWsBaseUrl,
        daemonConnected: true,
        machineId: daemon.claims.machineId,
        daemonIssueGeneration: scope.daemonGeneration ?? undefined,
        updatedAtMs: this.deps.now(),
      }),
      'presence_upsert',
    );
  }

  /**
   * syncPresence re-announces every OPEN daemon (spec §7.2 refresh, machineId
   * included), unless another relay now holds the scope: a daemon that
   * reconnected elsewhere must not be overwritten by this relay's older one.
   */
  syncPresence(): void {
    for (const scope of this.scopes.all()) {
      const daemon = scope.daemon;
      if (daemon !== null && isOpen(daemon)) this.background(this.refreshPresence(scope, daemon), 'presence_refresh');
    }
  }

  private async refreshPresence(scope: ScopeState<Peer>, daemon: Peer): Promise<void> {
    const current = await this.resolvePresence(scope);
    if (current !== null && current.daemonConnected && current.relayId !== '' && current.relayId !== this.cfg.relayId) {
      // Another relay holds the scope. With two distinct generations the backplane
      // refuses the stale write, so try; otherwise we cannot tell who is newer: do not fight.
      const ours = daemon.claims.daemonIssueGeneration;
      const theirs = current.daemonIssueGeneration;
      if (ours === undefined || theirs === undefined || ours === theirs) {
        this.log('info', 'presence_held_elsewhere', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId, relayId: current.relayId });
        return;
      }
    }
    if (scope.daemon === daemon && isOpen(daemon)) this.upsertPresence(scope, daemon);
  }

  private onClose(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    this.openByRole[peer.role] -= 1;
    const now = this.deps.now();
    this.releaseIp(peer.ip);
    this.deps.metrics.inc('ws_connections_closed_total');
    if (peer.role === 'client') {
      const scope = this.scopes.get(peer.workspaceId, peer.runtimeTargetId);
      if (scope) {
        forgetPeer(scope, peer);
        scope.lastActivityAt = now;
      }
    } else if (peer.role === 'workspace-daemon') {
      const scope = this.scopes.get(peer.workspaceId, peer.runtimeTargetId);
      if (scope && scope.daemon === peer) {
        scope.daemon = null;
        scope.kexRequests.clear();
        scope.pairingRequests.clear();
        scope.sessionOwners.clear();
        scope.lastActivityAt = now;
        this.log('info', 'daemon_disconnected', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
        if (this.cfg.backplane.presenceSyncEnabled) {
          this.background(
            this.deps.backplane.removePresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId }, this.cfg.relayId),
            'presence_remove',
          );
        }
      }
    }
    this.refreshGauges();
  }

  private onSocketError(peer: Peer, err: Error & { code?: string }): void {
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.deps.metrics.inc('ws_frame_too_large_total');
      this.deps.metrics.drop('frame_too_large');
    }
    this.log('debug', 'socket_error', { role: peer.role, code: err.code ?? 'unknown' });
  }

  // ---- frames ----

  private onMessage(peer: Peer, data: RawData, isBinary: boolean): void {
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      const now = this.deps.now();
      peer.lastActivityAt = now;
      if (peer.closing) return;
      if (peer.role === 'client') this.onClientFrame(peer, buf, isBinary, now);
      else if (peer.role === 'workspace-daemon') this.onDaemonFrame(peer, buf, isBinary, now);
      else this.onWorkerFrame(peer, buf, now);
    } catch (err) {
      // A routing bug must cost one frame, never the process.
      this.deps.metrics.drop('internal_error');
      this.log('error', 'frame_handler_failed', { role: peer.role, error: (err as Error).name });
    }
  }

  private tooLarge(peer: Peer, buf: Buffer): boolean {
    if (buf.length <= this.cfg.limits.maxFrameBytes) return false;
    this.deps.metrics.inc('ws_frame_too_large_total');
    this.deps.metrics.drop('frame_too_large');
    closePeer(peer, CloseCode.frameTooLarge, CloseReason.frameTooLarge);
    return true;
  }

  private closeFor(peer: Peer, reason: RelayCloseReason, counter?: CompatCounter): void {
    if (counter) this.deps.metrics.inc(counter);
    this.deps.metrics.drop(reason.replace(/ /g, '_'));
    closePeer(peer, CloseCode.policy, reason);
  }

  private onClientFrame(peer: Peer, buf: Buffer, isBinary: boolean, now: number): void {
    if (this.tooLarge(peer, buf) || peer.sender === undefined) return;
    const parsed = parseClientFrameBytes(buf);
    const frame = parsed.ok ? parsed.frame : null;
    const check = checkClientFrame(frame, peer.sender);
    switch (check.action) {
      case 'status':
        this.deps.metrics.inc(check.code === 'INVALID_FRAME' ? 'frames_client_rejected_total' : 'frames_client_rejected_scope_total');
        this.deps.metrics.drop(check.code === 'INVALID_FRAME' ? `invalid_frame:${parsed.ok ? 'scope' : parsed.error.reason}` : 'session_events_scope_only');
        this.send(peer, relayStatus(check.code, peer.workspaceId, {}));
        return;
      case 'close':
        this.closeFor(peer, check.reason, check.cause === 'scope' ? 'frames_client_rejected_scope_total' : 'frames_client_rejected_profile_mismatch_total');
        return;
      case 'subscribe':
      case 'unsubscribe':
      case 'presence':
        if (frame) this.onSessionEventFrame(peer, frame, check.action, check.channel, check.allowed, buf, isBinary, now);
        return;
      case 'route':
        break;
    }
    // Tables are pruned by the cleanup timer; lookups check the TTL themselves.
    const scope = this.scopeOf(peer, now);
    if (check.limiter === 'kex') {
      if (!this.kexLimiter.hit(`${peer.workspaceId}:${peer.clientId}:${peer.ip}`)) {
        this.closeFor(peer, CloseReason.keyExchangeRateLimit, 'frames_client_kex_rate_limited_total');
        return;
      }
    } else if (check.limiter === 'pairing') {
      if (!this.pairingLimiter.hit(`${peer.workspaceId}:${peer.clientId}:${peer.ip}`)) {
        this.closeFor(peer, CloseReason.pairingRateLimit, 'frames_client_pairing_rate_limited_total');
        return;
      }
    } else if (!this.takeRuntime(peer, now)) {
      this.closeFor(peer, CloseReason.runtimeRateLimit, 'frames_client_runtime_rate_limited_total');
      return;
    }
    if (check.track) {
      const table = check.track.table === 'kex' ? scope.kexRequests : scope.pairingRequests;
      table.set(check.track.requestId, { kind: 'local', peer }, now);
    }
    if (check.sessionId !== undefined) {
      // G-9: a client may only speak in sessions its own key exchange opened.
      if (!ownsSession(scope, check.sessionId, peer, now)) {
        this.deps.metrics.inc('client_messages_dropped_total');
        this.deps.metrics.drop('session_not_owned');
        return;
      }
      scope.sessionOwners.touch(check.sessionId, now);
    }
    const delivery = deliverClientFrame(scope, this.isOpen);
    if (delivery.kind === 'daemon') {
      if (this.sendAt(delivery.daemon, buf, isBinary, now) === 'sent') {
        this.hot.clientToDaemon.inc();
        this.hot.clientToDaemonBytes.inc(buf.length);
        this.hot.clientToDaemonTally.add(buf.length);
      }
      return;
    }
    if (delivery.kind === 'target_required') {
      this.deps.metrics.inc('client_messages_dropped_total');
      this.deps.metrics.drop('runtime_target_required');
      this.send(peer, relayStatus('RUNTIME_TARGET_REQUIRED', peer.workspaceId, {}));
      return;
    }
    this.routeClientFrameViaPresence(peer, scope, buf);
  }

  // Per-client order (the delivery promise) needs only the lookups in order: each
  // frame's publish is issued as its lookup answers, and one store connection keeps
  // publishes in issue order, so a frame never waits for the previous publish's reply.
  // With no lookup pending and the location cached, the frame is routed in this turn.
  private routeClientFrameViaPresence(peer: Peer, scope: ScopeState<Peer>, buf: Buffer): void {
    const pending = this.presenceChains.get(peer);
    if (pending === undefined && this.cfg.backplane.mode !== 'single') {
      const cached = this.deps.backplane.cachedPresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
      if (cached !== undefined) {
        this.routeToPresence(peer, scope, buf, cached);
        return;
      }
    }
    const lookup = (pending ?? Promise.resolve())
      .then(() => (this.cfg.backplane.mode === 'single' ? null : this.resolvePresence(scope)))
      .then((record) => this.routeToPresence(peer, scope, buf, record));
    const chain = lookup.catch(() => undefined);
    this.presenceChains.set(peer, chain);
    // Once the chain is idle, later frames may take the cached path again.
    this.background(
      lookup.finally(() => {
        if (this.presenceChains.get(peer) === chain) this.presenceChains.delete(peer);
      }),
      'route_via_presence',
    );
  }

  private takeRuntime(peer: Peer, now: number): boolean {
    // Client bucket first: the workspace bucket is not spent when the client's denies (§5.1 step 8).
    return this.runtimeClientLimiter.take(peer.clientId, now) && this.runtimeWorkspaceLimiter.take(peer.workspaceId, now);
  }

  /**
   * routeToPresence is §5.5 step 2-3 once the daemon's location is known: redirect
   * and publish, else DAEMON_UNAVAILABLE. The publish is issued before it returns.
   */
  private routeToPresence(peer: Peer, scope: ScopeState<Peer>, buf: Buffer, found: PresenceRecord | null): void {
    const target = scope.runtimeTargetId as string;
    // Deliberately looser than §7.5 "Resolve": the URL policy only decides whether the
    // client may be redirected; the bus needs just the relayId, so a prod relay whose
    // peers advertise in-cluster ws:// URLs still routes across relays.
    const record = connectedPresence(found);
    if (record === null || record.relayId === this.cfg.relayId) {
      this.daemonUnavailable(peer, target, undefined);
      return;
    }
    const redirect = this.cfg.backplane.clientRedirectEnabled && shouldRedirect(record, this.cfg.relayId, this.cfg.publicWsBaseUrl);
    if (redirect && isRedirectUrlAllowed(record.relayWsBaseUrl, this.redirectPolicy)) {
      this.deps.metrics.inc('client_redirect_total');
      this.send(peer, relayStatus('RELAY_REDIRECT', peer.workspaceId, { relayWsBaseUrl: record.relayWsBaseUrl, runtimeTargetId: target }));
    }
    if (!this.cfg.backplane.busEnabled) {
      this.daemonUnavailable(peer, target, record.machineId);
      return;
    }
    const published = this.publish(this.outgoingBusFrame(scope, 'client_to_daemon', record.relayId, record.machineId, buf));
    this.background(
      published.then((ok) => {
        if (ok) this.deps.metrics.inc('client_messages_routed_bus_total');
        else this.daemonUnavailable(peer, target, record.machineId);
      }),
      'publish_client_to_daemon',
    );
  }

  private daemonUnavailable(peer: Peer, target: string, machineId: string | undefined): void {
    this.deps.metrics.inc('client_messages_dropped_total');
    this.deps.metrics.drop('daemon_unavailable');
    this.send(peer, relayStatus('DAEMON_UNAVAILABLE', peer.workspaceId, { runtimeTargetId: target, machineId }));
  }

  private async resolvePresence(scope: ScopeState<Peer>): Promise<PresenceRecord | null> {
    try {
      return await this.deps.backplane.resolvePresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
    } catch {
      return null;
    }
  }

  /**
   * outgoingBusFrame is a frame this relay publishes for scope (whose runtime target
   * is set on every publishing path). It carries the socket's bytes next to the text,
   * so a peer link sends them without encoding the text again.
   */
  private outgoingBusFrame(scope: ScopeState<Peer>, direction: BusFrame['direction'], targetRelayId: string | null, machineId: string | undefined, buf: Buffer): BusFrame {
    return {
      workspaceId: scope.workspaceId,
      runtimeTargetId: scope.runtimeTargetId as string,
      machineId,
      sourceRelayId: this.cfg.relayId,
      targetRelayId,
      direction,
      payload: buf.toString('utf8'),
      payloadBytes: buf,
    };
  }

  private async publish(frame: BusFrame): Promise<boolean> {
    try {
      const ok = await this.deps.backplane.publish(frame);
      if (ok) this.deps.metrics.frame('bus_out', busPayloadSize(frame));
      return ok;
    } catch {
      return false;
    }
  }

  private onSessionEventFrame(
    peer: Peer,
    frame: ClientFrame,
    action: 'subscribe' | 'unsubscribe' | 'presence',
    channel: string,
    allowed: boolean,
    buf: Buffer,
    isBinary: boolean,
    now: number,
  ): void {
    const m = this.deps.metrics;
    const scope = this.scopeOf(peer, now);
    if (action === 'subscribe' || action === 'unsubscribe') {
      // G-23: subscription churn spends the same runtime budget as presence.
      if (!this.takeRuntime(peer, now)) {
        this.closeFor(peer, CloseReason.runtimeRateLimit, 'frames_client_runtime_rate_limited_total');
        return;
      }
      if (!allowed) {
        m.inc('session_event_subscribe_rejected_total');
        this.send(peer, sessionSubscribeDenied(channel, peer.workspaceId));
        return;
      }
      if (action === 'subscribe') {
        let set = scope.subscribers.get(channel);
        if (!set) scope.subscribers.set(channel, (set = new Set()));
        set.add(peer);
        m.inc('session_event_subscribed_total');
        this.send(peer, sessionSubscribed(channel, frame.afterSequence));
      } else {
        const set = scope.subscribers.get(channel);
        set?.delete(peer);
        if (set && set.size === 0) scope.subscribers.delete(channel);
        m.inc('session_event_unsubscribed_total');
        this.send(peer, sessionUnsubscribed(channel));
      }
      return;
    }
    if (!allowed) {
      m.inc('session_viewer_presence_rejected_total');
      this.send(peer, viewerPresenceDenied(channel, peer.workspaceId));
      return;
    }
    if (!this.takeRuntime(peer, now)) {
      this.closeFor(peer, CloseReason.presenceRateLimit, 'session_viewer_presence_rate_limited_total');
      return;
    }
    const recipients = presenceRecipients(scope, channel, peer, this.isOpen);
    let delivered = 0;
    for (const r of recipients) if (this.send(r, buf, isBinary) === 'sent') delivered += 1;
    if (delivered === 0) m.inc('session_viewer_presence_no_peers_total');
    else {
      m.inc('session_viewer_presence_fanned_total');
      m.inc('session_viewer_presence_fanned_recipients_total', delivered);
    }
  }

  private onDaemonFrame(peer: Peer, buf: Buffer, isBinary: boolean, now: number): void {
    if (!this.daemonLimiter.take(peer.workspaceId, now)) {
      this.closeFor(peer, CloseReason.daemonRateLimit, 'frames_daemon_rate_limited_total');
      return;
    }
    if (this.tooLarge(peer, buf)) return;
    const parsed = parseDaemonFrameBytes(buf);
    if (!parsed.ok) {
      this.deps.metrics.inc('frames_daemon_rejected_total');
      this.deps.metrics.drop(`invalid_daemon_frame:${parsed.error.reason}`);
      return;
    }
    const mismatch = checkDaemonProfile(parsed.frame, peer.claims.e2eeProfile);
    if (mismatch !== null) {
      this.closeFor(peer, mismatch, 'frames_daemon_rejected_profile_mismatch_total');
      return;
    }
    const scope = this.scopeOf(peer, now);
    if (scope.daemon !== peer) return; // a superseded daemon's last frames go nowhere
    this.applyDaemonRoute(routeDaemonFrame(parsed.frame, scope, this.isOpen, now), scope, buf, isBinary, false, now);
  }

  /** delivered counts a daemon frame that reached n local clients. */
  private delivered(n: number, bytes: number, fromBus: boolean): void {
    if (n === 0) return;
    const hot = this.hot;
    (fromBus ? hot.busToClients : hot.daemonToClients).inc(n);
    if (!fromBus) hot.daemonToClientsBytes.inc(bytes * n);
    for (let i = 0; i < n; i++) hot.daemonToClientTally.add(bytes);
  }

  private applyDaemonRoute(route: DaemonRoute<Peer>, scope: ScopeState<Peer>, buf: Buffer, isBinary: boolean, fromBus: boolean, now: number): void {
    const m = this.deps.metrics;
    if (route.action === 'close') return;
    if (route.action === 'fanout') {
      let n = 0;
      for (const r of route.recipients) if (this.sendAt(r, buf, isBinary, now) === 'sent') n += 1;
      // G-17: a local daemon's events also reach subscribers on other relays. No relay
      // knows where remote subscribers sit, so the frame goes to every relay, which fans
      // it out to its own subscribers (§7.8); bus copies are never re-published.
      const published = !fromBus && this.publishSessionEvent(scope, buf);
      if (n === 0 && !published) {
        m.inc('session_event_frame_dropped_total');
        m.drop('session_event_no_subscribers');
      } else {
        m.inc('session_event_frame_delivered_total');
        m.inc('session_event_frame_delivered_recipients_total', n);
      }
      this.delivered(n, buf.length, fromBus);
      return;
    }
    const counters = this.hot.family[route.family];
    const d = route.delivery;
    if (d.kind === 'local') {
      if (this.sendAt(d.peer, buf, isBinary, now) === 'sent') {
        counters.local.inc();
        this.delivered(1, buf.length, fromBus);
      } else counters.dropped.inc();
      return;
    }
    if (d.kind === 'bus' && !fromBus && this.cfg.backplane.busEnabled) {
      const frame = this.outgoingBusFrame(scope, 'daemon_to_clients', d.relayId, scope.daemon?.claims.machineId, buf);
      this.background(
        this.publish(frame).then((ok) => {
          (ok ? counters.bus : counters.dropped).inc();
          if (!ok) m.drop('bus_publish_failed');
        }),
        'publish_daemon_to_clients',
      );
      return;
    }
    counters.dropped.inc();
    m.drop(`${route.family}_no_owner`);
  }

  private publishSessionEvent(scope: ScopeState<Peer>, buf: Buffer): boolean {
    if (!this.cfg.backplane.busEnabled || !this.deps.backplane.broadcasts || scope.runtimeTargetId === undefined) return false;
    const frame = this.outgoingBusFrame(scope, 'daemon_to_clients', null, scope.daemon?.claims.machineId, buf);
    this.background(
      this.publish(frame).then((ok) => {
        this.deps.metrics.inc(ok ? 'session_event_frame_published_total' : 'session_event_frame_publish_failed_total');
        if (!ok) this.deps.metrics.drop('bus_publish_failed');
      }),
      'publish_session_event',
    );
    return true;
  }

  private onWorkerFrame(peer: Peer, buf: Buffer, now: number): void {
    if (!this.daemonLimiter.take(peer.workspaceId)) {
      this.closeFor(peer, CloseReason.workerRateLimit, 'frames_daemon_rate_limited_total');
      return;
    }
    if (this.tooLarge(peer, buf)) return;
    const parsed = parseWorkerFrame(buf.toString('utf8'));
    if (!parsed.ok) {
      this.deps.metrics.inc('frames_daemon_rejected_total');
      this.deps.metrics.drop(`invalid_worker_frame:${parsed.error.reason}`);
      return;
    }
    const request = parsed.frame;
    const auth = authorizeWorkerPath(request.path, peer.workspaceId, peer.claims.managedExecutorId);
    if (!auth.ok) {
      this.deps.metrics.inc('worker_transport_rejected_total');
      this.deps.metrics.drop(`worker_${auth.reason.toLowerCase()}`);
      this.send(peer, workerPathDenied(request.requestId));
      return;
    }
    this.deps.metrics.frame('worker_to_platform', buf.length);
    void now;
    this.background(
      this.deps.forwardWorker(request, auth.path).then((reply) => {
        this.deps.metrics.inc(reply.ok ? 'worker_transport_forwarded_total' : 'worker_transport_forward_failed_total');
        this.send(peer, reply.frame);
      }),
      'worker_forward',
    );
  }

  /** onBusFrame routes a frame another relay addressed to us (spec §7.8). */
  onBusFrame(frame: BusFrame): void {
    try {
      this.routeBusFrame(frame);
    } catch (err) {
      this.deps.metrics.drop('internal_error');
      this.log('error', 'bus_frame_failed', { error: (err as Error).name });
    }
  }

  private routeBusFrame(frame: BusFrame): void {
    const m = this.deps.metrics;
    const now = this.deps.now();
    const buf = frame.payloadBytes ?? Buffer.from(frame.payload, 'utf8');
    if (buf.length > this.cfg.limits.maxFrameBytes) {
      m.inc('bus_frames_rejected_total');
      return;
    }
    m.frame('bus_in', buf.length);
    const scope = this.scopes.ensure(frame.workspaceId, frame.runtimeTargetId || undefined, now);
    scope.lastActivityAt = now;
    // The bytes take the same e2ee fast path as a socket's frames (measured on a 16 KiB
    // envelope: about 2 µs against 11.6 for the full parser); anything else falls back to it.
    if (frame.direction === 'client_to_daemon') {
      const parsed = parseClientFrameBytes(buf);
      if (!parsed.ok) {
        m.inc('bus_frames_rejected_total');
        return;
      }
      const f = parsed.frame;
      const owner = { kind: 'remote', relayId: frame.sourceRelayId } as const;
      if (f.kind === 'kex_init' && (f.requestId ?? '') !== '') scope.kexRequests.set(f.requestId as string, owner, now);
      if ((f.kind === 'pairing_offer_request' || f.kind === 'pairing_redeem_request') && f.requestId) {
        scope.pairingRequests.set(f.requestId, owner, now);
      }
      const daemon = scope.daemon;
      if (daemon !== null && this.send(daemon, buf) === 'sent') m.inc('bus_frames_to_daemon_total');
      else {
        m.inc('bus_frames_dropped_total');
        m.drop('bus_no_daemon');
      }
      return;
    }
    const parsed = parseDaemonFrameBytes(buf);
    if (!parsed.ok) {
      m.inc('bus_frames_rejected_total');
      return;
    }
    if (!this.daemonLimiter.take(frame.workspaceId)) {
      m.inc('bus_frames_daemon_rate_limited_total');
      m.drop('bus_daemon_rate_limited');
      return;
    }
    this.applyDaemonRoute(routeDaemonFrame(parsed.frame, scope, this.isOpen, now), scope, buf, false, true, now);
  }

  // ---- timers ----

  /** heartbeat runs one pass of §5.9: idle and pong timeouts, then pings. Called by a relay-wide timer. */
  heartbeat(): void {
    const now = this.deps.now();
    const { idleTimeoutMs, pongTimeoutMs, pingIntervalMs } = this.cfg.timers;
    for (const peer of this.peers) {
      // Daemons wait for clients as their normal state, so idleness only ends clients and workers.
      if (peer.role !== 'workspace-daemon' && now - peer.lastActivityAt > idleTimeoutMs) {
        this.terminate(peer, 'ws_idle_terminated_total');
        continue;
      }
      if (peer.pingOutstanding) {
        if (now - peer.lastPingAt > pongTimeoutMs) {
          this.terminate(peer, 'ws_stale_terminated_total');
        }
        continue;
      }
      if (now - peer.lastPingAt >= pingIntervalMs) {
        peer.pingOutstanding = true;
        peer.lastPingAt = now;
        try {
          peer.ws.ping();
        } catch {
          peer.ws.terminate();
        }
      }
    }
  }

  // terminate drops a dead or idle peer and forgets it at once, in the same turn as
  // the counter moves: ws emits 'close' only after the socket is torn down, and until
  // then /state, caps and routing would still count a peer that is already gone.
  private terminate(peer: Peer, counter: 'ws_idle_terminated_total' | 'ws_stale_terminated_total'): void {
    this.deps.metrics.inc(counter);
    peer.ws.terminate();
    this.onClose(peer);
  }

  /** cleanup evicts idle empty scopes, prunes tables, sweeps limiters and refreshes gauges (§1). */
  cleanup(): void {
    const now = this.deps.now();
    for (const scope of [...this.scopes.all()]) {
      pruneScope(scope, now);
      if (isEvictable(scope, now, this.cfg.timers.emptyWorkspaceTtlMs)) {
        this.scopes.delete(scope);
        this.deps.metrics.inc('workspace_evictions_total');
      }
    }
    this.kexLimiter.sweep();
    this.pairingLimiter.sweep();
    this.runtimeClientLimiter.sweep();
    this.runtimeWorkspaceLimiter.sweep();
    this.daemonLimiter.sweep();
    this.refreshGauges();
  }

  /** roleCounts counts open peers by role. */
  roleCounts(): Record<PeerRole, number> {
    return { ...this.openByRole };
  }

  refreshGauges(): void {
    const counts = this.roleCounts();
    this.deps.metrics.setConnections(counts, counts['workspace-daemon'] + counts.client, this.scopes.size);
  }

  // ---- I/O helpers ----

  /** send writes to a peer, closing it 4008 `buffer overflow` when it cannot keep up (§5.8). */
  send(peer: Peer, data: string | Buffer, isBinary = false): SendOutcome {
    return this.sendAt(peer, data, isBinary, this.deps.now());
  }

  /** sendAt is send for a caller that already read the clock (the per-frame path). */
  private sendAt(peer: Peer, data: string | Buffer, isBinary: boolean, now: number): SendOutcome {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    // Only small frames are worth coalescing: a 16 KiB write already amortises its syscall,
    // and holding large ones back measured slower (bigger bursts, partial writes).
    if (size <= COALESCE_MAX_BYTES && isOpen(peer)) this.batch.hold(peer);
    if (peer.corked) {
      // Bytes held back by the batch are not the peer's backlog: hand them to the kernel
      // before the overflow check could count them, and keep batches modest.
      const held = peer.socket?.writableLength ?? 0;
      if (held >= COALESCE_FLUSH_BYTES || peer.ws.bufferedAmount + size > this.cfg.limits.maxPendingBytes) this.batch.release(peer);
    }
    const outcome = sendToPeer(peer, data, this.cfg.limits.maxPendingBytes, now, isBinary);
    if (outcome === 'overflow') {
      this.deps.metrics.inc('ws_slow_client_terminated_total');
      this.deps.metrics.drop('buffer_overflow');
      this.log('warn', 'slow_peer_closed', { role: peer.role, workspaceId: peer.workspaceId });
      closePeer(peer, CloseCode.policy, CloseReason.bufferOverflow);
    } else if (outcome === 'not_open') this.deps.metrics.drop('peer_not_open');
    return outcome;
  }

  private background(p: Promise<unknown>, what: string): void {
    p.catch((err: unknown) => this.log('warn', 'background_task_failed', { task: what, error: (err as Error)?.name ?? 'unknown' }));
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', event: string, details?: Record<string, unknown>): void {
    this.deps.log.log(level, event, details);
  }
}
