// The relay core. It does not own the listener: main (or a test) creates the
// HTTP server and hands upgrades and plain requests to createRelay's
// handlers. Upgrades are checked in the spec's order (§2.1) and admitted
// before the 101, under a deadline; rejections are raw HTTP status lines.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import type { Backplane } from '../backplane/backplane.js';
import { createSingleBackplane } from '../backplane/single.js';
import type { Config } from '../config/index.js';
import { createAdminHandler, type Readiness } from '../admin/admin.js';
import { createLogger, type Logger } from '../admin/log.js';
import { createRelayMetrics, type RelayMetrics } from '../admin/metrics.js';
import { buildState } from '../admin/state.js';
import { createAdmitter, type Admitter, type AdmitterOverrides } from '../admission/admit.js';
import { withAdmissionCache } from '../admission/cache.js';
import { crossCheckClaims } from '../admission/cross-check.js';
import { extractToken, selectSubprotocol } from '../admission/token.js';
import { relayStatus } from '../frames/index.js';
import { FixedWindowLimiter } from '../limits/index.js';
import { shouldRedirect, usablePresence } from '../routing/redirect-policy.js';
import { SessionHub, type Admitted, type WorkerForwarder } from '../session/hub.js';
import { closePeer, isOpen } from '../session/peer.js';
import { createClientIpResolver } from './client-ip.js';
import { checkHandshakeHeaders } from './handshake.js';
import { parseUpgradeQuery } from './query.js';
import { createWorkerForwarder } from './worker-forwarder.js';
import { rejectUpgrade, type UpgradeRejectReason } from '../net/reject.js';

/** RelayDeps are optional collaborators; defaults suit production. */
export interface RelayDeps {
  /** The backplane main built from config; the relay starts and closes it. Default: single. */
  readonly backplane?: Backplane;
  /** The prom-client registry (shared with the backplane). Default: a fresh one. */
  readonly registry?: Registry;
  readonly log?: Logger;
  readonly now?: () => number;
  /** Replace the admission pipeline entirely (tests). */
  readonly admitter?: Admitter;
  /** Tweak the configured pipeline: injected JWKS key source, JWKS cool-down. */
  readonly admission?: AdmitterOverrides;
  readonly forwardWorker?: WorkerForwarder;
}

/** RelayState is a live view for tests and main. */
export interface RelayState {
  readonly draining: boolean;
  readonly connections: number;
  readonly scopes: number;
  /** snapshot is the /state body. */
  snapshot(): Record<string, unknown>;
}

/** Relay is the relay core: wire handleUpgrade and handleAdminRequest to an HTTP server. */
export interface Relay {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  handleAdminRequest(req: IncomingMessage, res: ServerResponse): void;
  /** drain stops admitting, tells every peer to reconnect, closes them 1012, removes presence; bounded by RELAY_DRAIN_GRACE_MS. */
  drain(): Promise<void>;
  /** close tears everything down at once (tests, second signal). */
  close(): Promise<void>;
  readonly state: RelayState;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly hub: SessionHub;
}

/** DRAIN_CLOSE_CODE is 1012 (service restart): peers should reconnect, to another replica. */
export const DRAIN_CLOSE_CODE = 1012;
const DRAIN_CLOSE_REASON = 'relay shutting down';

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(fallback);
      },
    );
  });
}

/** createRelay builds the relay core and starts its timers and backplane. */
export function createRelay(config: Config, deps: RelayDeps = {}): Relay {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger({ maxEntries: config.maxLogs });
  const metrics = createRelayMetrics(deps.registry);
  const backplane = deps.backplane ?? createSingleBackplane();
  const admit = withAdmissionCache(deps.admitter ?? createAdmitter(config, deps.admission), {
    ttlMs: config.admission.cacheTtlMs,
    maxEntries: config.admission.cacheMaxEntries,
    now,
    onHit: () => metrics.inc('admission_cache_hits_total'),
  });
  const forwardWorker: WorkerForwarder = deps.forwardWorker ?? createWorkerForwarder(config);
  const hub = new SessionHub({ config, metrics, log, backplane, now, forwardWorker });
  const resolveIp = createClientIpResolver(config.network.trustedProxies);
  const upgradeLimiter = new FixedWindowLimiter({
    max: config.limits.upgradeRatePerMinute,
    windowMs: 60_000,
    maxKeys: config.limits.upgradeBucketMax,
    now,
  });
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.limits.maxFrameBytes,
    handleProtocols: (protocols) => selectSubprotocol(protocols),
  });
  const startedAt = now();
  let draining = false;
  let closed = false;
  let drainPromise: Promise<void> | undefined;

  const readiness = (): Readiness => {
    if (draining) return { ready: false, reason: 'DRAINING' };
    if (!backplane.isHealthy()) return { ready: false, reason: 'BACKPLANE_UNHEALTHY' };
    return { ready: true };
  };
  const snapshot = () =>
    buildState(config, hub.scopes.all(), isOpen, { workers: hub.roleCounts().worker, draining });
  const handleAdminRequest = createAdminHandler({ config, metrics, log, state: snapshot, readiness, now, startedAt });

  // ---- timers (unref'd: they never keep the process alive) ----
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        log.log('error', 'timer_failed', { error: (err as Error).name });
      }
    }, ms);
    t.unref();
    timers.push(t);
  };
  // Ticking at half the shorter of ping interval and pong timeout detects a dead peer
  // within interval + pong timeout (G-19), not one or two whole intervals.
  every(Math.max(25, Math.floor(Math.min(config.timers.pingIntervalMs, config.timers.pongTimeoutMs) / 2)), () => hub.heartbeat());
  every(config.timers.cleanupIntervalMs, () => {
    hub.cleanup();
    upgradeLimiter.sweep();
  });
  if (config.backplane.presenceSyncEnabled) every(config.backplane.presenceSyncIntervalMs, () => hub.syncPresence());
  backplane.start((frame) => hub.onBusFrame(frame)).then(
    () => log.log('info', 'backplane_started', { mode: backplane.mode }),
    (err: unknown) => log.log('error', 'backplane_start_failed', { mode: backplane.mode, error: (err as Error)?.name }),
  );

  // ---- upgrade ----
  const reject = (socket: Duplex, status: 400 | 401 | 403 | 405 | 429 | 503, reason: UpgradeRejectReason) => {
    metrics.rejectUpgrade(reason);
    rejectUpgrade(socket, status);
  };

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const t0 = now();
    if (draining) return reject(socket, 503, 'draining');
    const ip = resolveIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    if (!upgradeLimiter.hit(ip)) {
      metrics.inc('upgrade_rate_limited_total');
      return reject(socket, 429, 'ip_rate_limited');
    }
    if (hub.connectionCount() >= config.limits.maxTotalConnections) {
      metrics.inc('upgrade_rejected_total_connections_total');
      return reject(socket, 503, 'total_connections');
    }
    if (hub.ipCount(ip) >= config.limits.maxConnectionsPerIp) {
      metrics.inc('upgrade_rejected_ip_connections_total');
      return reject(socket, 429, 'ip_connections');
    }
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    if (url.pathname !== '/ws') {
      metrics.rejectUpgrade('bad_path');
      socket.destroy();
      return;
    }
    if (config.network.allowedOrigins.length > 0) {
      const origin = req.headers.origin?.toLowerCase();
      if (origin !== undefined && !config.network.allowedOrigins.includes(origin)) return reject(socket, 403, 'origin_not_allowed');
    }
    // Malformed handshakes are refused before admission, so they never cost a platform call (G-20).
    const handshake = checkHandshakeHeaders(req);
    if (!handshake.ok) return reject(socket, handshake.status, 'bad_handshake');
    const q = parseUpgradeQuery(url.searchParams);
    if (!q.ok) {
      metrics.inc('upgrade_invalid_query_total');
      return reject(socket, 400, 'invalid_query');
    }
    const query = q.query;
    const token = extractToken(req.headers, query.token, config.mode === 'dev');
    if (!token.ok) {
      metrics.inc('upgrade_missing_auth_total');
      return reject(socket, 401, token.reason === 'QUERY_TOKEN_NOT_ALLOWED' ? 'query_token_not_allowed' : 'missing_token');
    }

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
      const queryIds = { role: query.role, workspaceId: query.workspaceId, runtimeTargetId: query.runtimeTargetId };
      const result = await Promise.race([
        admit({ token: token.token, ...queryIds }, abort.signal),
        new Promise<null>((resolve) => abort.signal.addEventListener('abort', () => resolve(null), { once: true })),
      ]);
      const seconds = (now() - t0) / 1000;
      if (result === null) {
        metrics.observeAdmission(config.admission.mode, 'timeout', seconds);
        log.log('warn', 'admission_timeout', { role: query.role, workspaceId: query.workspaceId });
        return reject(socket, 503, 'handshake_timeout');
      }
      if (!result.ok) {
        metrics.observeAdmission(config.admission.mode, result.status === 503 ? 'unavailable' : 'denied', seconds);
        metrics.inc('admission_denied_total');
        log.log('info', 'admission_denied', { role: query.role, workspaceId: query.workspaceId, reason: result.reason, status: result.status });
        return reject(socket, result.status, result.status === 503 ? 'admission_unavailable' : result.status === 403 ? 'admission_forbidden' : 'admission_denied');
      }
      metrics.observeAdmission(config.admission.mode, 'admitted', seconds);
      const claims = result.claims;
      const check = crossCheckClaims(queryIds, claims);
      // G-13: the clients-per-scope cap applies to the scope the claims resolve to, after auth.
      if (check.ok && query.role === 'client' && hub.clientCount(check.workspaceId, check.runtimeTargetId) >= config.limits.maxClientsPerWorkspace) {
        metrics.inc('upgrade_rejected_workspace_clients_total');
        return reject(socket, 429, 'workspace_clients');
      }
      let persistedGeneration: number | null = null;
      let redirectTo: string | undefined;
      if (check.ok && config.backplane.mode !== 'single' && (query.role === 'workspace-daemon' || (query.role === 'client' && config.backplane.clientRedirectEnabled && query.runtimeTargetId !== undefined))) {
        const scopeRef = { workspaceId: check.workspaceId, runtimeTargetId: check.runtimeTargetId };
        const remaining = Math.max(1, config.admission.handshakeTimeoutMs - (now() - t0));
        if (query.role === 'workspace-daemon') {
          // G-5: the generation outlives the daemon's presence entry and this relay's memory.
          persistedGeneration = backplane.readDaemonGeneration
            ? await withTimeout(backplane.readDaemonGeneration(scopeRef), remaining, null)
            : ((await withTimeout(backplane.resolvePresence(scopeRef), remaining, null))?.daemonIssueGeneration ?? null);
          if (abort.signal.aborted) return reject(socket, 503, 'handshake_timeout');
        } else {
          const record = await withTimeout(backplane.resolvePresence(scopeRef), remaining, null);
          if (abort.signal.aborted) return reject(socket, 503, 'handshake_timeout');
          const usable = usablePresence(record, { prod: config.mode === 'prod', allowedHosts: config.backplane.redirectAllowedHosts, ownPublicUrl: config.publicWsBaseUrl, tlsHost: config.tls.host });
          if (usable && shouldRedirect(usable, config.relayId, config.publicWsBaseUrl)) redirectTo = usable.relayWsBaseUrl;
        }
      }
      if (draining) return reject(socket, 503, 'draining');
      if (socket.destroyed) return;
      metrics.inc('admission_ok_total');
      handedOver = true;
      finish();
      handOver(req, socket, head, { query: queryIds, ip, claims, check, persistedGeneration, redirectTo, socket });
    } finally {
      finish();
    }
  }

  // handOver completes the WebSocket handshake of an admitted upgrade. It is apart from
  // upgrade() so the closures that live as long as the socket capture only what they use,
  // not upgrade()'s context (its AbortController, deadline timer and admission race), and
  // the close watch is dropped once the hub owns the socket: about 0.6 KiB per connection.
  function handOver(req: IncomingMessage, socket: Duplex, head: Buffer, admitted: Admitted): void {
    const onEarlyClose = () => hub.release(admitted.ip); // the WS layer refused the handshake after all
    socket.once('close', onEarlyClose);
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', onEarlyClose);
      hub.register(ws, admitted);
    });
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // G-1: a raw socket error during the handshake must not crash the process.
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      metrics.inc('upgrade_errors_total');
      log.log('error', 'upgrade_failed', { error: (err as Error)?.name ?? 'unknown' });
      socket.destroy();
    });
  }

  // ---- shutdown ----
  function stopTimers(): void {
    for (const t of timers) clearInterval(t);
    timers.length = 0;
  }

  async function drain(): Promise<void> {
    if (drainPromise) return drainPromise;
    draining = true;
    drainPromise = (async () => {
      const grace = config.timers.drainGraceMs;
      const t0 = now();
      const peers = [...hub.peers];
      log.log('info', 'drain_started', { peers: peers.length, graceMs: grace });
      // Spread the closes over part of the window so peers do not all reconnect at once.
      const spread = Math.min(Math.floor(grace / 2), 5000);
      const closedAll = Promise.all(
        peers.map(
          (peer, i) =>
            new Promise<void>((resolve) => {
              if (peer.ws.readyState === peer.ws.CLOSED) return resolve();
              peer.ws.once('close', () => resolve());
              const offset = peers.length > 1 ? Math.floor((spread * i) / (peers.length - 1)) : 0;
              hub.send(peer, relayStatus('RELAY_SHUTTING_DOWN', peer.workspaceId, { reconnectAfterMs: offset }));
              const t = setTimeout(() => closePeer(peer, DRAIN_CLOSE_CODE, DRAIN_CLOSE_REASON), offset);
              t.unref();
            }),
        ),
      );
      await withTimeout(closedAll, Math.max(0, grace - 500), undefined);
      for (const peer of hub.peers) peer.ws.terminate();
      stopTimers();
      const left = Math.max(100, grace - (now() - t0));
      await withTimeout(backplane.close(), left, undefined);
      log.log('info', 'drain_finished', { ms: now() - t0 });
    })();
    return drainPromise;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    draining = true;
    stopTimers();
    for (const peer of hub.peers) peer.ws.terminate();
    wss.close();
    await withTimeout(backplane.close(), 2000, undefined);
  }

  return {
    handleUpgrade,
    handleAdminRequest,
    drain,
    close,
    metrics,
    log,
    hub,
    state: {
      get draining() {
        return draining;
      },
      get connections() {
        return hub.peers.size;
      },
      get scopes() {
        return hub.scopes.size;
      },
      snapshot,
    },
  };
}
