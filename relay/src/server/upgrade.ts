// The upgrade path of one WebSocket, as named steps: pre-admission checks (a
// decision, pre-admission.ts), admission under the handshake deadline with a
// connection slot reserved, the checks that need the claims (cross-check,
// clients per scope, the presence reads of docs/protocol.md#weak-generation-memory, docs/protocol.md#redirect), then the hand-over
// of the socket to the hub. Every refusal goes through the one table in
// upgrade-refusals.ts; rejections are raw HTTP status lines.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Backplane } from '../backplane/backplane.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../admin/log.js';
import type { RelayMetrics } from '../admin/metrics.js';
import type { Admitter } from '../admission/admit.js';
import { crossCheckClaims, type CrossCheck, type QueryIds } from '../admission/cross-check.js';
import type { FixedWindowLimiter } from '../limits/index.js';
import { shouldRedirect, usablePresence } from '../routing/redirect-policy.js';
import type { Admitted, SessionHub } from '../session/hub.js';
import { preAdmission, type UpgradeGate } from './pre-admission.js';
import { refuse, type UpgradeRefusal } from './upgrade-refusals.js';
import { withTimeout } from './with-timeout.js';

/** UpgradeConfig is what the upgrade path reads from the configuration. */
export type UpgradeConfig = Pick<Config, 'mode' | 'limits' | 'network' | 'admission' | 'backplane' | 'relayId' | 'publicWsBaseUrl' | 'tls'>;

/** UpgradeDeps are the upgrade path's collaborators, built by createRelay. */
export interface UpgradeDeps {
  readonly config: UpgradeConfig;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly hub: SessionHub;
  readonly admit: Admitter;
  readonly backplane: Backplane;
  readonly wss: WebSocketServer;
  readonly upgradeLimiter: FixedWindowLimiter;
  readonly resolveIp: (remoteAddress: string | undefined, forwardedFor: string | string[] | undefined) => string;
  readonly isDraining: () => boolean;
  readonly now: () => number;
}

/** Admission is the verdict of the steps after pre-admission: hand the socket over, refuse it, or drop it silently (gone). */
type Admission = { readonly kind: 'admitted'; readonly admitted: Admitted } | { readonly kind: 'refused'; readonly refusal: UpgradeRefusal } | { readonly kind: 'gone' };

/** ScopePresence is what presence says about the scope before the 101: the daemon's generation, a client's redirect. */
interface ScopePresence {
  readonly persistedGeneration: number | null;
  readonly redirectTo: string | undefined;
}

const NO_PRESENCE: ScopePresence = { persistedGeneration: null, redirectTo: undefined };

/** UpgradePath takes upgrades from the HTTP server to the hub, or refuses them. */
export class UpgradePath {
  private readonly gate: UpgradeGate;

  constructor(private readonly deps: UpgradeDeps) {
    const { hub, upgradeLimiter, isDraining } = deps;
    this.gate = {
      get draining() {
        return isDraining();
      },
      hitUpgradeRate: (ip) => upgradeLimiter.hit(ip),
      connectionCount: () => hub.connectionCount(),
      ipCount: (ip) => hub.ipCount(ip),
    };
  }

  /** handleUpgrade is the HTTP server's 'upgrade' handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // docs/protocol.md#weak-socket-errors: a raw socket error during the handshake must not crash the process.
    socket.on('error', () => socket.destroy());
    this.upgrade(req, socket, head).catch((err: unknown) => {
      this.deps.metrics.inc('upgrade_errors_total');
      this.deps.log.error('upgrade_failed', { error: (err as Error)?.name ?? 'unknown' });
      socket.destroy();
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { config, metrics, hub } = this.deps;
    const t0 = this.deps.now();
    const ip = this.deps.resolveIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const pre = preAdmission(req, ip, this.gate, config);
    if (!pre.ok) return refuse(socket, pre.refusal, metrics);

    hub.reserve(ip);
    let handedOver = false;
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), config.admission.handshakeTimeoutMs);
    const onGone = () => abort.abort();
    socket.once('close', onGone);
    const finish = () => {
      clearTimeout(deadline);
      socket.off('close', onGone);
      if (!handedOver) hub.release(ip);
    };
    try {
      const queryIds: QueryIds = { role: pre.query.role, workspaceId: pre.query.workspaceId, runtimeTargetId: pre.query.runtimeTargetId };
      const verdict = await this.admission(queryIds, pre.token, ip, t0, abort.signal, socket);
      if (verdict.kind === 'refused') return refuse(socket, verdict.refusal, metrics);
      if (verdict.kind === 'gone') return;
      metrics.inc('admission_ok_total');
      handedOver = true;
      finish();
      this.handOver(req, socket, head, verdict.admitted);
    } finally {
      finish();
    }
  }

  /** admission admits the token under the deadline, then runs the checks that need its claims. */
  private async admission(queryIds: QueryIds, token: string, ip: string, t0: number, signal: AbortSignal, socket: Duplex): Promise<Admission> {
    const { config, metrics, log, hub } = this.deps;
    const result = await Promise.race([
      this.deps.admit({ token, ...queryIds }, signal),
      new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true })),
    ]);
    const seconds = (this.deps.now() - t0) / 1000;
    const mode = config.admission.mode;
    if (result === null) {
      metrics.observeAdmission(mode, 'timeout', seconds);
      log.warn('admission_timeout', { role: queryIds.role, workspaceId: queryIds.workspaceId });
      return { kind: 'refused', refusal: 'handshake_timeout' };
    }
    if (!result.ok) {
      metrics.observeAdmission(mode, result.status === 503 ? 'unavailable' : 'denied', seconds);
      log.info('admission_denied', { role: queryIds.role, workspaceId: queryIds.workspaceId, reason: result.reason, status: result.status });
      const refusal = result.status === 503 ? 'admission_unavailable' : result.status === 403 ? 'admission_forbidden' : 'admission_denied';
      return { kind: 'refused', refusal };
    }
    metrics.observeAdmission(mode, 'admitted', seconds);
    const claims = result.claims;
    const check = crossCheckClaims(queryIds, claims);
    // docs/protocol.md#weak-client-cap: the clients-per-scope cap applies to the scope the claims resolve to, after auth.
    if (check.ok && queryIds.role === 'client' && hub.clientCount(check.workspaceId, check.runtimeTargetId) >= config.limits.maxClientsPerWorkspace) {
      return { kind: 'refused', refusal: 'workspace_clients' };
    }
    const presence = await this.scopePresence(queryIds, check, t0, signal);
    if (presence === null) return { kind: 'refused', refusal: 'handshake_timeout' };
    if (this.deps.isDraining()) return { kind: 'refused', refusal: 'draining' };
    if (socket.destroyed) return { kind: 'gone' };
    return { kind: 'admitted', admitted: { query: queryIds, ip, claims, check, ...presence, socket } };
  }

  /**
   * scopePresence reads what a multi-relay backplane knows about the scope: a daemon's
   * last generation (docs/protocol.md#weak-generation-memory: it outlives the daemon's presence entry and this relay's
   * memory), or where a client's daemon lives (docs/protocol.md#redirect). Null when the deadline passed.
   */
  private async scopePresence(query: QueryIds, check: CrossCheck, t0: number, signal: AbortSignal): Promise<ScopePresence | null> {
    const { config, backplane } = this.deps;
    const bp = config.backplane;
    const wanted = query.role === 'workspace-daemon' || (query.role === 'client' && bp.clientRedirectEnabled && query.runtimeTargetId !== undefined);
    if (!check.ok || bp.mode === 'single' || !wanted) return NO_PRESENCE;
    const scopeRef = { workspaceId: check.workspaceId, runtimeTargetId: check.runtimeTargetId };
    const remaining = Math.max(1, config.admission.handshakeTimeoutMs - (this.deps.now() - t0));
    if (query.role === 'workspace-daemon') {
      const persistedGeneration = await withTimeout(backplane.readDaemonGeneration(scopeRef), remaining, null);
      return signal.aborted ? null : { persistedGeneration, redirectTo: undefined };
    }
    const record = await withTimeout(backplane.resolvePresence(scopeRef), remaining, null);
    if (signal.aborted) return null;
    const usable = usablePresence(record, { prod: config.mode === 'prod', allowedHosts: bp.redirectAllowedHosts, ownPublicUrl: config.publicWsBaseUrl, tlsHost: config.tls.host });
    const redirectTo = usable && shouldRedirect(usable, config.relayId, config.publicWsBaseUrl) ? usable.relayWsBaseUrl : undefined;
    return { persistedGeneration: null, redirectTo };
  }

  // handOver completes the WebSocket handshake of an admitted upgrade. It is apart from
  // upgrade() so the closures that live as long as the socket capture only what they use,
  // not upgrade()'s context (its AbortController, deadline timer and admission race), and
  // the close watch is dropped once the hub owns the socket: about 0.6 KiB per connection.
  private handOver(req: IncomingMessage, socket: Duplex, head: Buffer, admitted: Admitted): void {
    const hub = this.deps.hub;
    const onEarlyClose = () => hub.release(admitted.ip); // the WS layer refused the handshake after all
    socket.once('close', onEarlyClose);
    this.deps.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', onEarlyClose);
      hub.register(ws, admitted);
    });
  }
}
