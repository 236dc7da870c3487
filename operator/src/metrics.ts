// Operator metrics in an owned prom-client Registry (never the global one).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** OperatorMetrics are the series the operator exports on /metrics. */
export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  errors: Counter<'reason'>;
  duration: Histogram;
  queueDepth: Gauge;
  leader: Gauge;
  watchRestarts: Counter<'kind'>;
  /** 1 while a ViewportRelay's Stalled condition is True (the alert "Stalled for N minutes" reads it). */
  relayStalled: Gauge<'relay_namespace' | 'relay'>;
}

/** createMetrics builds a fresh registry; withProcess adds Node process metrics. */
export function createMetrics(withProcess = false): OperatorMetrics {
  const registry = new Registry();
  if (withProcess) collectDefaultMetrics({ register: registry, prefix: 'viewport_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'viewport_operator_reconciles_total',
      help: 'Reconcile passes by result (done, retry).',
      labelNames: ['result'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'viewport_operator_reconcile_errors_total',
      help: 'Reconcile passes that need a retry or a user change, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'viewport_operator_reconcile_duration_seconds',
      help: 'Duration of a reconcile pass.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'viewport_operator_queue_depth', help: 'Keys waiting in the work queue.', registers: [registry] }),
    leader: new Gauge({ name: 'viewport_operator_leader', help: '1 while this replica holds the leader lease.', registers: [registry] }),
    watchRestarts: new Counter({
      name: 'viewport_operator_watch_restarts_total',
      help: 'Informer restarts after a watch error, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    // Not "namespace": Prometheus would rename it exported_namespace beside the scrape's own.
    relayStalled: new Gauge({
      name: 'viewport_operator_relay_stalled',
      help: '1 while the ViewportRelay relay_namespace/relay is Stalled, else 0.',
      labelNames: ['relay_namespace', 'relay'],
      registers: [registry],
    }),
  };
}
