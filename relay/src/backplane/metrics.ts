// Backplane metrics in the relay's own prom-client registry. Names follow
// docs/protocol.md#metrics where it names them (relay_bus_*, relay_presence_*); the rest are
// additions (docs/protocol.md#weak-metrics). Creation is idempotent so several adapters, or the relay
// core, can share one registry without "already registered" errors.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BusRejectReason } from './bus-frame.js';

/** BackplaneMetrics are the counters and gauges every adapter updates. */
export interface BackplaneMetrics {
  readonly publishOk: Counter;
  readonly publishFailed: Counter;
  readonly publishRefused: Counter;
  readonly publishTargetGone: Counter;
  readonly publishRefusedBytes: Counter;
  readonly lossMarked: Counter;
  readonly lossReceived: Counter;
  /** Loss markers read and not honoured, by reason (unsigned, invalid_signature, stale, replayed, before_start). */
  readonly lossRefused: Counter<'reason'>;
  readonly pullOk: Counter;
  readonly pullFailed: Counter;
  readonly framesReceived: Counter;
  readonly rejected: Record<BusRejectReason, Counter>;
  readonly busLatency: Histogram;
  readonly presenceUpsertOk: Counter;
  readonly presenceUpsertFailed: Counter;
  readonly presenceUpsertStale: Counter;
  readonly presenceResolveOk: Counter;
  readonly presenceResolveFailed: Counter;
  readonly presenceResolveStale: Counter;
  /** Presence records read but not followed, by reason (unsigned, invalid_signature, stale). */
  readonly presenceRejected: Counter<'reason'>;
  readonly presenceEntries: Gauge;
  readonly reconnects: Counter;
  readonly healthy: Gauge;
  readonly peerLinks: Gauge;
  readonly peerLinkDialFailed: Counter;
}

function counter<L extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, registers: [registry] });
}

/** backplaneMetrics returns the backplane's metrics in registry, creating them on first use. */
export function backplaneMetrics(registry: Registry): BackplaneMetrics {
  const latencyName = 'relay_bus_latency_seconds';
  const existingLatency = registry.getSingleMetric(latencyName);
  const busLatency =
    existingLatency instanceof Histogram
      ? existingLatency
      : new Histogram({
          name: latencyName,
          help: 'Time from a bus frame being signed by the sending relay to its delivery here',
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers: [registry],
        });
  return {
    publishOk: counter(registry, 'relay_bus_publish_ok_total', 'Bus frames handed to the backplane'),
    publishFailed: counter(registry, 'relay_bus_publish_failed_total', 'Bus frames the backplane refused or could not take'),
    publishRefused: counter(registry, 'relay_bus_publish_refused_total', "Bus frames refused because the target relay's queue was full"),
    publishRefusedBytes: counter(registry, 'relay_bus_publish_refused_bytes_total', "Of the refused bus frames, those refused because the target's stream held RELAY_REDIS_QUEUE_MAX_BYTES unread"),
    publishTargetGone: counter(registry, 'relay_bus_publish_target_gone_total', "Bus frames refused, or appended and never read, because the target relay's heartbeat lapsed"),
    lossMarked: counter(registry, 'relay_bus_loss_marked_total', 'Loss markers left for another relay: its clients of the scope will be closed'),
    lossReceived: counter(registry, 'relay_bus_loss_received_total', "Loss markers read: this relay's clients of the scope were closed"),
    lossRefused: counter(registry, 'relay_bus_loss_refused_total', 'Loss markers read and not honoured: unsigned, badly signed, stale, replayed or from before this relay started', ['reason']),
    pullOk: counter(registry, 'relay_bus_pull_ok_total', 'Successful bus reads (pulls or stream reads)'),
    pullFailed: counter(registry, 'relay_bus_pull_failed_total', 'Failed bus reads'),
    framesReceived: counter(registry, 'relay_bus_frames_received_total', 'Bus frames accepted and handed to the relay'),
    rejected: {
      malformed: counter(registry, 'relay_bus_pull_malformed_total', 'Bus frames dropped as malformed'),
      misaddressed: counter(registry, 'relay_bus_pull_misaddressed_total', 'Bus frames dropped as addressed to another relay'),
      frame_too_large: counter(registry, 'relay_bus_pull_frame_too_large_total', 'Bus frames dropped for an oversized payload'),
      invalid_signature: counter(registry, 'relay_bus_pull_invalid_signature_total', 'Bus frames dropped for a missing or wrong signature'),
      stale_signature: counter(registry, 'relay_bus_pull_stale_signature_total', 'Bus frames dropped for an issuedAtMs outside the skew window'),
      replayed_signature: counter(registry, 'relay_bus_pull_replayed_signature_total', 'Bus frames dropped as replays'),
    },
    busLatency,
    presenceUpsertOk: counter(registry, 'relay_presence_upsert_ok_total', 'Presence writes accepted'),
    presenceUpsertFailed: counter(registry, 'relay_presence_upsert_failed_total', 'Presence writes that failed'),
    presenceUpsertStale: counter(registry, 'relay_presence_upsert_stale_total', 'Presence writes refused: the daemon generation is below the kept one'),
    presenceResolveOk: counter(registry, 'relay_presence_resolve_ok_total', 'Presence lookups answered'),
    presenceResolveFailed: counter(registry, 'relay_presence_resolve_failed_total', 'Presence lookups that failed'),
    presenceResolveStale: counter(registry, 'relay_presence_resolve_stale_total', 'Failed presence lookups answered with the last record the store gave (an outage)'),
    presenceRejected: counter(registry, 'relay_presence_rejected_total', 'Presence records read from the store and never followed: unsigned, badly signed or stale', ['reason']),
    presenceEntries: gauge(registry, 'relay_presence_entries', 'Presence entries this relay currently holds'),
    reconnects: counter(registry, 'relay_backplane_reconnects_total', 'Backplane connections re-established after a loss'),
    healthy: gauge(registry, 'relay_backplane_healthy', '1 while the backplane store is reachable, else 0'),
    peerLinks: gauge(registry, 'relay_bus_peer_links', 'Open peer links from this relay to others (redis mode, RELAY_PEER_LINK_PORT)'),
    peerLinkDialFailed: counter(registry, 'relay_bus_peer_link_dial_failed_total', 'Peer links this relay could not open (unreachable peer, failed proof); frames went through Redis'),
  };
}
