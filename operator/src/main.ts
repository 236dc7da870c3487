// Wiring only: createOperator assembles reconciler, queue, watches, leader
// election and metrics around an injected KubeAdapter and Clock (the e2e tier
// calls it with a real API server); runOperator adds the real client, HTTP
// endpoints and signals.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { systemClock, type Clock } from './clock.js';
import type { OperatorConfig } from './config.js';
import { parseRelay } from './api/v1alpha1/relay.js';
import { referencedSecretNames } from './desired/index.js';
import { relayModel } from './desired/model.js';
import type { RandomSecret } from './desired/secret.js';
import type { KubeAdapter } from './kube/adapter.js';
import { checkServerVersion } from './kube/min-version.js';
import { startWatches, type WatchSet } from './kube/watch.js';
import { LeaderElector } from './leader.js';
import type { KubeObject } from './object.js';
import { jsonLogger, type Logger } from './log.js';
import { createMetrics, type OperatorMetrics } from './metrics.js';
import { kubeEventRecorder } from './reconcile/events.js';
import { WorkQueue } from './reconcile/queue.js';
import { Reconciler, type ReconcileResult } from './reconcile/reconciler.js';

/** OperatorDeps are the injectable parts of an operator. */
export interface OperatorDeps {
  kube: KubeAdapter;
  config: OperatorConfig;
  clock?: Clock;
  log?: Logger;
  random?: RandomSecret;
  metrics?: OperatorMetrics;
  /** Called after leadership is lost; `run` exits so a fresh process re-campaigns. */
  onLeadershipLost?: () => void;
}

/** Operator is a wired, not yet started, operator instance. */
export interface Operator {
  reconciler: Reconciler;
  queue: WorkQueue;
  metrics: OperatorMetrics;
  /** reconcile runs one pass for a key directly (tests), recording metrics. */
  reconcile(key: string): Promise<ReconcileResult>;
  /** start campaigns for leadership (or leads at once) and then watches and reconciles. */
  start(): void;
  stop(): Promise<void>;
  /** ready: standby, or leading with every informer synced. */
  ready(): boolean;
  isLeader(): boolean;
}

/** randomSecret draws 32 random bytes, base64url (URL-safe for a redis:// password). */
export const randomSecret: RandomSecret = () => randomBytes(32).toString('base64url');

/** createOperator wires an operator around the given KubeAdapter. */
export function createOperator(deps: OperatorDeps): Operator {
  const { kube, config } = deps;
  const clock = deps.clock ?? systemClock();
  const log = deps.log ?? jsonLogger(() => clock.now());
  const metrics = deps.metrics ?? createMetrics();
  const events = kubeEventRecorder(kube, clock, config.identity, (message) => log.warn('event_failed', { message }));
  const reconciler = new Reconciler({
    kube,
    clock,
    log,
    events,
    random: deps.random ?? randomSecret,
    builder: { relayImage: config.relayImage },
  });

  const reconcile = measuredReconcile(reconciler, clock, metrics, log);
  const queue = new WorkQueue({
    clock,
    concurrency: config.concurrency,
    worker: async (key) => {
      const result = await reconcile(key);
      // Not ready yet: pod failures and exposure live in objects no informer watches, so look again.
      if (result.result === 'done' && result.recheckAfterMs !== undefined) queue.addAfter(key, result.recheckAfterMs);
      return { retry: result.result === 'retry' };
    },
    onDepth: (d) => metrics.queueDepth.set(d),
    onCrash: (key, error) => log.error('reconcile_crashed', { key, error: error instanceof Error ? error.message : String(error) }),
  });
  const work = leaderWork({ kube, clock, log, config, queue, metrics });

  const elector = config.leaderElect
    ? new LeaderElector({
        kube,
        clock,
        log,
        namespace: config.leaseNamespace,
        name: config.leaseName,
        identity: config.identity,
        onStartedLeading: () => work.start(),
        onStoppedLeading: () => {
          work.stop();
          log.error('leadership_lost', {});
          deps.onLeadershipLost?.();
        },
      })
    : undefined;
  let leading = false;

  return {
    reconciler,
    queue,
    metrics,
    reconcile,
    start() {
      if (elector) elector.start();
      else {
        leading = true;
        work.start();
      }
    },
    async stop() {
      if (elector) await elector.stop();
      else if (leading) work.stop();
      leading = false;
      await queue.idle();
    },
    ready: () => !(elector?.isLeader ?? leading) || work.synced(),
    isLeader: () => elector?.isLeader ?? leading,
  };
}

/** measuredReconcile runs a pass and records its duration and result; retries and unusual outcomes are logged. */
function measuredReconcile(
  reconciler: Reconciler,
  clock: Clock,
  metrics: OperatorMetrics,
  log: Logger,
): (key: string) => Promise<ReconcileResult> {
  return async (key) => {
    const started = clock.now();
    const result = await reconciler.reconcile(key);
    metrics.duration.observe((clock.now() - started) / 1000);
    metrics.reconciles.inc({ result: result.result });
    recordStalled(metrics, key, result);
    if (result.result === 'retry') {
      metrics.errors.inc({ reason: result.reason });
      log.warn('reconcile_retry', { key, reason: result.reason, message: result.message });
    } else if (result.reason !== 'Reconciled' && result.recheckAfterMs === undefined) {
      log.info('reconcile_done', { key, reason: result.reason });
    }
    return result;
  };
}

/** recordStalled keeps the relay's Stalled gauge to the status the pass wrote, and drops it with the relay. */
function recordStalled(metrics: OperatorMetrics, key: string, result: ReconcileResult): void {
  const slash = key.indexOf('/');
  const labels = { relay_namespace: key.slice(0, slash), relay: key.slice(slash + 1) };
  if (result.reason === 'Gone') metrics.relayStalled.remove(labels);
  else if (result.stalled !== undefined) metrics.relayStalled.set(labels, result.stalled ? 1 : 0);
}

/** LeaderWork is what only the leader does: watch, queue keys, resync every relay periodically. */
interface LeaderWork {
  start(): void;
  stop(): void;
  /** synced: every informer has listed once. */
  synced(): boolean;
}

function leaderWork(deps: {
  kube: KubeAdapter;
  clock: Clock;
  log: Logger;
  config: OperatorConfig;
  queue: WorkQueue;
  metrics: OperatorMetrics;
}): LeaderWork {
  const { kube, clock, log, config, queue, metrics } = deps;
  // The Secret names a relay's spec references, for the Secret watch index (none while the spec is invalid).
  const secretsOf = (raw: KubeObject): string[] => {
    const parsed = parseRelay(raw);
    return parsed.ok ? referencedSecretNames(relayModel(parsed.relay, { relayImage: config.relayImage })) : [];
  };

  let watches: WatchSet | undefined;
  let resyncTimer: number | undefined;
  const scheduleResync = (): void => {
    resyncTimer = clock.setTimer(() => {
      for (const key of watches?.relayKeys() ?? []) queue.add(key);
      scheduleResync();
    }, config.resyncMs);
  };
  return {
    start() {
      metrics.leader.set(1);
      watches = startWatches({
        kube,
        clock,
        log,
        namespaces: config.namespaces,
        onKey: (key) => queue.add(key),
        secretsOf,
        onRestart: (kind) => metrics.watchRestarts.inc({ kind }),
      });
      queue.start();
      scheduleResync();
    },
    stop() {
      metrics.leader.set(0);
      watches?.stop();
      watches = undefined;
      queue.stop();
      if (resyncTimer !== undefined) clock.clearTimer(resyncTimer);
    },
    synced: () => watches?.synced() ?? false,
  };
}

function listen(port: number, handle: (path: string) => Promise<{ status: number; type: string; body: string }>): Promise<Server> {
  const server = createServer((req, res) => {
    handle((req.url ?? '/').split('?')[0] ?? '/').then(
      (r) => res.writeHead(r.status, { 'content-type': r.type }).end(r.body),
      (err: unknown) => res.writeHead(500).end(err instanceof Error ? err.message : 'error'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

/** runOperator runs until SIGTERM/SIGINT: the `run` command. */
export async function runOperator(config: OperatorConfig, kube: KubeAdapter, onExit: (code: number) => void): Promise<void> {
  const clock = systemClock();
  const log = jsonLogger(() => clock.now(), config.logLevel);
  const metrics = createMetrics(true);
  const tooOld = await checkServerVersion(kube);
  if (tooOld !== undefined) {
    log.error('unsupported_kubernetes', { message: tooOld });
    process.stderr.write(`error: ${tooOld}\n`);
    onExit(2);
    return;
  }
  const op = createOperator({ kube, config, clock, log, metrics, onLeadershipLost: () => onExit(1) });
  const text = 'text/plain; charset=utf-8';
  const metricsServer = await listen(config.metricsPort, async (path) =>
    path === '/metrics'
      ? { status: 200, type: metrics.registry.contentType, body: await metrics.registry.metrics() }
      : { status: 404, type: text, body: 'not found\n' },
  );
  const healthServer = await listen(config.healthPort, async (path) => {
    if (path === '/healthz') return { status: 200, type: text, body: 'ok\n' };
    if (path === '/readyz') return op.ready() ? { status: 200, type: text, body: 'ok\n' } : { status: 503, type: text, body: 'not synced\n' };
    return { status: 404, type: text, body: 'not found\n' };
  });
  log.info('operator_started', {
    namespaces: config.namespaces.length > 0 ? config.namespaces : 'all',
    leaderElect: config.leaderElect,
    relayImage: config.relayImage,
  });
  op.start();
  const shutdown = (signal: string): void => {
    log.info('operator_stopping', { signal });
    op.stop().then(
      () => {
        metricsServer.close();
        healthServer.close();
        onExit(0);
      },
      (err: unknown) => {
        log.error('stop_failed', { error: err instanceof Error ? err.message : String(err) });
        onExit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
