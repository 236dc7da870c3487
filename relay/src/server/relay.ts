// The relay core. It does not own the listener: main (or a test) creates the
// HTTP server and hands upgrades and plain requests to createRelay's
// handlers. createRelay wires the parts: the session hub, the upgrade path
// (upgrade.ts: checked in the documented order, docs/protocol.md#upgrade-checks, and admitted before the
// 101 under a deadline), the admin endpoints, the timers, and shutdown.
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
import { withTokenLifetime } from '../admission/lifetime.js';
import { selectSubprotocol } from '../admission/token.js';
import { FixedWindowLimiter } from '../limits/index.js';
import { SessionHub, type WorkerForwarder } from '../session/hub.js';
import { isOpen } from '../session/peer.js';
import { createClientIpResolver } from './client-ip.js';
import { createShutdown } from './shutdown.js';
import { startRelayTimers } from './relay-timers.js';
import { UpgradePath } from './upgrade.js';
import { createWorkerForwarder } from './worker-forwarder.js';

export { DRAIN_CLOSE_CODE } from './shutdown.js';

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

/** createWebSocketServer is the ws server that completes admitted handshakes (no listener, no tracking, no compression). */
function createWebSocketServer(maxFrameBytes: number): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: maxFrameBytes,
    handleProtocols: (protocols) => selectSubprotocol(protocols),
  });
}

/**
 * createRelay builds the relay core and starts its timers and backplane. It is
 * the wiring of the parts (hub, upgrade path, admin routes, shutdown), so it
 * reads best in one piece.
 */
export function createRelay(config: Config, deps: RelayDeps = {}): Relay {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger({ maxEntries: config.maxLogs });
  const metrics = createRelayMetrics(deps.registry);
  const backplane = deps.backplane ?? createSingleBackplane();
  const cached = withAdmissionCache(deps.admitter ?? createAdmitter(config, deps.admission), {
    ttlMs: config.admission.cacheTtlMs,
    maxEntries: config.admission.cacheMaxEntries,
    now,
    onHit: () => metrics.inc('admission_cache_hits_total'),
  });
  const admit = withTokenLifetime(cached, config.admission, now);
  const forwardWorker: WorkerForwarder = deps.forwardWorker ?? createWorkerForwarder(config);
  const hub = new SessionHub({ config, metrics, log, backplane, now, forwardWorker });
  const upgradeLimiter = new FixedWindowLimiter({ max: config.limits.upgradeRatePerMinute, windowMs: 60_000, maxKeys: config.limits.upgradeBucketMax, now });
  const wss = createWebSocketServer(config.limits.maxFrameBytes);
  const startedAt = now();
  let draining = false;

  const readiness = (): Readiness => {
    if (draining) return { ready: false, reason: 'DRAINING' };
    // A backplane outage is not this pod's to fix: it keeps serving what it can
    // (docs/backplane.md#readiness); only a store never reached since start keeps it out.
    if (!backplane.isHealthy()) return backplane.wasHealthy() ? { ready: true, backplane: 'unreachable' } : { ready: false, reason: 'BACKPLANE_UNHEALTHY' };
    return { ready: true };
  };
  const snapshot = () =>
    buildState(config, hub.scopes.all(), isOpen, { workers: hub.roleCounts().worker, draining });
  const handleAdminRequest = createAdminHandler({ config, metrics, log, state: snapshot, readiness, now, startedAt });

  const stopTimers = startRelayTimers(config, hub, upgradeLimiter, log);
  backplane.start((frame) => hub.onBusFrame(frame)).then(
    () => log.info('backplane_started', { mode: backplane.mode }),
    (err: unknown) => log.error('backplane_start_failed', { mode: backplane.mode, error: (err as Error)?.name }),
  );

  const upgrades = new UpgradePath({
    config,
    metrics,
    log,
    hub,
    admit,
    backplane,
    wss,
    upgradeLimiter,
    resolveIp: createClientIpResolver(config.network.trustedProxies),
    isDraining: () => draining,
    now,
  });

  const { drain, close } = createShutdown({
    hub,
    backplane,
    wss,
    log,
    now,
    drainGraceMs: config.timers.drainGraceMs,
    stopTimers,
    markDraining: () => {
      draining = true;
    },
  });

  return {
    handleUpgrade: (req, socket, head) => upgrades.handleUpgrade(req, socket, head),
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
