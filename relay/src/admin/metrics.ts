// Relay metrics in the relay's own prom-client Registry. The 72 unlabelled
// counters and 2 gauges of docs/protocol.md#metrics keep their names for dashboards built on the
// reference; labelled series (by role, reason, direction) and an admission
// latency histogram are added beside them.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** COMPAT_COUNTERS are the reference counter names (without the relay_ prefix), docs/protocol.md#metrics. */
export const COMPAT_COUNTERS = [
  'upgrade_rate_limited_total',
  'upgrade_rejected_total_connections_total',
  'upgrade_rejected_ip_connections_total',
  'upgrade_invalid_query_total',
  'upgrade_missing_auth_total',
  'upgrade_rejected_workspace_clients_total',
  'upgrade_errors_total',
  'admission_denied_total',
  'admission_ok_total',
  'admission_cache_hits_total',
  'client_redirect_total',
  'admin_unauthorized_total',
  'ws_connections_opened_total',
  'ws_connections_closed_total',
  'ws_connections_rejected_total',
  'ws_frame_too_large_total',
  'ws_idle_terminated_total',
  'ws_stale_terminated_total',
  'ws_slow_client_terminated_total',
  'ws_inbound_throttled_total',
  'ws_invalid_frames_closed_total',
  'ws_token_expired_closed_total',
  'worker_transport_busy_total',
  'workspace_evictions_total',
  'frames_client_rejected_total',
  'frames_client_rejected_scope_total',
  'frames_client_rejected_profile_mismatch_total',
  'frames_client_kex_rate_limited_total',
  'frames_client_pairing_rate_limited_total',
  'frames_client_runtime_rate_limited_total',
  'frames_client_to_daemon_total',
  'bytes_client_to_daemon_total',
  'client_messages_dropped_total',
  'client_messages_routed_bus_total',
  'frames_daemon_rate_limited_total',
  'frames_daemon_rejected_total',
  'frames_daemon_rejected_profile_mismatch_total',
  'frames_daemon_to_clients_total',
  'bytes_daemon_to_clients_total',
  'key_exchange_response_routed_local_total',
  'key_exchange_response_routed_bus_total',
  'key_exchange_response_dropped_total',
  'pairing_response_routed_local_total',
  'pairing_response_routed_bus_total',
  'pairing_response_dropped_total',
  'session_frame_routed_local_total',
  'session_frame_routed_bus_total',
  'session_frame_dropped_total',
  'session_event_subscribed_total',
  'session_event_unsubscribed_total',
  'session_event_subscribe_rejected_total',
  'session_event_frame_delivered_total',
  'session_event_frame_delivered_recipients_total',
  'session_event_frame_dropped_total',
  'session_event_frame_published_total',
  'session_event_frame_publish_failed_total',
  'session_viewer_presence_fanned_total',
  'session_viewer_presence_fanned_recipients_total',
  'session_viewer_presence_no_peers_total',
  'session_viewer_presence_rejected_total',
  'session_viewer_presence_rate_limited_total',
  'worker_transport_forwarded_total',
  'worker_transport_rejected_total',
  'worker_transport_forward_failed_total',
  'bus_publish_ok_total',
  'bus_publish_failed_total',
  'bus_pull_ok_total',
  'bus_pull_failed_total',
  'bus_pull_frame_too_large_total',
  'bus_pull_invalid_signature_total',
  'bus_pull_stale_signature_total',
  'bus_pull_replayed_signature_total',
  'bus_frames_to_daemon_total',
  'bus_frames_to_clients_total',
  'bus_frames_dropped_total',
  'bus_frames_rejected_total',
  'bus_frames_daemon_rate_limited_total',
  'presence_upsert_ok_total',
  'presence_upsert_failed_total',
  'presence_resolve_ok_total',
  'presence_resolve_failed_total',
] as const;

/** CompatCounter names one reference counter. */
export type CompatCounter = (typeof COMPAT_COUNTERS)[number];

export type PeerRole = 'workspace-daemon' | 'client' | 'worker';
export type FrameDirection = 'client_to_daemon' | 'daemon_to_client' | 'worker_to_platform' | 'bus_in' | 'bus_out';

/** CounterHandle is one reference counter, resolved once for a per-frame path. */
export interface CounterHandle {
  inc(by?: number): void;
}

/** FrameTally counts one direction's frames and bytes, resolved once for a per-frame path. */
export interface FrameTally {
  add(bytes: number): void;
}

/** RelayMetrics is the relay's metric surface; only the relay core writes to it. */
export interface RelayMetrics {
  readonly registry: Registry;
  inc(name: CompatCounter, by?: number): void;
  /** counter is inc without the lookup by name on every call: the routing path resolves its counters once. */
  counter(name: CompatCounter): CounterHandle;
  rejectUpgrade(reason: string): void;
  drop(reason: string): void;
  frame(direction: FrameDirection, bytes: number): void;
  /** frameTally is frame without the lookup by direction on every call. */
  frameTally(direction: FrameDirection): FrameTally;
  observeAdmission(mode: string, outcome: string, seconds: number): void;
  setConnections(byRole: Readonly<Record<PeerRole, number>>, compatTotal: number, scopes: number): void;
  render(): Promise<string>;
}

// Adapters (backplane) share the registry and may register a compat name first.
function counter(registry: Registry, name: string, help: string, labelNames: string[] = [], collect?: () => void): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[] = []): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

// The per-frame counters are plain numbers, added to their prom-client counters
// when the registry is read (collect): a labelled inc costs about 0.4-1 µs, a += a few ns.
class CompatSlot implements CounterHandle {
  pending = 0;
  /** Set when another module registered the name first: its counter has no collect hook of ours. */
  direct: Counter<string> | undefined = undefined;

  inc(by = 1): void {
    if (this.direct) this.direct.inc(by);
    else this.pending += by;
  }
}

class DirectionTally implements FrameTally {
  frames = 0;
  bytes = 0;

  add(bytes: number): void {
    this.frames += 1;
    this.bytes += bytes;
  }
}

// What counter and frameTally hand out for a name the registry does not know (inc ignores those too).
const IGNORED: CounterHandle = { inc: () => {} };
const IGNORED_TALLY: FrameTally = { add: () => {} };

const DIRECTIONS: readonly FrameDirection[] = ['client_to_daemon', 'daemon_to_client', 'worker_to_platform', 'bus_in', 'bus_out'];

/** createRelayMetrics registers every relay metric in registry (a fresh one by default). */
export function createRelayMetrics(registry: Registry = new Registry()): RelayMetrics {
  const compat = new Map<CompatCounter, CompatSlot>();
  for (const name of COMPAT_COUNTERS) {
    const slot = new CompatSlot();
    const metricName = `relay_${name}`;
    const owned = registry.getSingleMetric(metricName) === undefined;
    const c: Counter<string> = counter(registry, metricName, `Reference relay counter ${name.replace(/_/g, ' ')}`, [], () => {
      if (slot.pending === 0) return;
      c.inc(slot.pending);
      slot.pending = 0;
    });
    if (!owned) slot.direct = c;
    compat.set(name, slot);
  }
  const framesPending = new Map<FrameDirection, DirectionTally>(DIRECTIONS.map((d) => [d, new DirectionTally()]));
  const flushFrames = (field: 'frames' | 'bytes', target: () => Counter<string>) => () => {
    for (const [direction, p] of framesPending) {
      if (p[field] === 0) continue;
      target().labels(direction).inc(p[field]);
      p[field] = 0;
    }
  };
  const connectionsTotal = gauge(registry, 'relay_connections_total', 'Daemon slots plus clients (reference gauge)');
  const workspacesTotal = gauge(registry, 'relay_workspaces_total', 'Scopes held in memory');
  const byRole = gauge(registry, 'relay_connections', 'Open WebSocket connections by role', ['role']);
  const rejections = counter(registry, 'relay_upgrade_rejections_total', 'Rejected upgrades by reason', ['reason']);
  const drops = counter(registry, 'relay_frames_dropped_total', 'Frames not delivered, by reason', ['reason']);
  const frames: Counter<string> = counter(registry, 'relay_frames_total', 'Frames routed, by direction', ['direction'], flushFrames('frames', () => frames));
  const bytes: Counter<string> = counter(registry, 'relay_frame_bytes_total', 'Frame bytes routed, by direction', ['direction'], flushFrames('bytes', () => bytes));
  const admission = new Histogram({
    name: 'relay_admission_duration_seconds',
    help: 'Time to admit or refuse an upgrade, by admission mode and outcome',
    labelNames: ['mode', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [registry],
  });
  return {
    registry,
    inc: (name, by = 1) => compat.get(name)?.inc(by),
    counter: (name) => compat.get(name) ?? IGNORED,
    rejectUpgrade: (reason) => rejections.inc({ reason }),
    drop: (reason) => drops.inc({ reason }),
    frame: (direction, n) => framesPending.get(direction)?.add(n),
    frameTally: (direction) => framesPending.get(direction) ?? IGNORED_TALLY,
    observeAdmission: (mode, outcome, seconds) => admission.observe({ mode, outcome }, seconds),
    setConnections: (counts, compatTotal, scopes) => {
      for (const [role, n] of Object.entries(counts)) byRole.set({ role }, n);
      connectionsTotal.set(compatTotal);
      workspacesTotal.set(scopes);
    },
    render: () => registry.metrics(),
  };
}
