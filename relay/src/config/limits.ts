// Resource limits and timers: connection caps, frame and buffer sizes, rate
// limits with the sizes of their key tables, and the heartbeat and clean-up
// timers. Plain numbers; the schema already checked each one.
import type { EnvValues } from './schema.js';

/** LimitsConfig is the `limits` group of the relay config. */
export interface LimitsConfig {
  readonly maxTotalConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxClientsPerWorkspace: number;
  readonly maxFrameBytes: number;
  readonly maxPendingBytes: number;
  readonly upgradeRatePerMinute: number;
  readonly upgradeBucketMax: number;
  readonly kexInitRatePerMinute: number;
  readonly kexRateLimiterMaxKeys: number;
  readonly runtimeRatePerMinute: number;
  readonly runtimeRatePerMinuteWorkspace: number;
  readonly runtimeRateLimiterMaxKeys: number;
  readonly runtimeWorkspaceRateLimiterMaxKeys: number;
  readonly daemonRuntimeRatePerMinute: number;
  readonly daemonRateLimiterMaxKeys: number;
  readonly pairingRatePerMinute: number;
  readonly pairingRateLimiterMaxKeys: number;
  readonly pairingRequestTrackMax: number;
  readonly sessionOwnerTrackMax: number;
  /** Per-connection inbound budget of clients (docs/protocol.md#inbound-budget). */
  readonly clientInboundFramesPerSecond: number;
  readonly clientInboundBytesPerSecond: number;
  /** The same for daemons and workers. */
  readonly daemonInboundFramesPerSecond: number;
  readonly daemonInboundBytesPerSecond: number;
  /** Invalid frames a connection may send per minute before it is closed. */
  readonly maxInvalidFramesPerMinute: number;
  /** The worker tunnel's bounds (worker/tunnel-budget.ts); each request reserves the response cap. */
  readonly workerTunnel: {
    readonly maxInFlightPerWorker: number;
    readonly maxBufferedBytesPerWorker: number;
    readonly maxBufferedBytesTotal: number;
    readonly reserveBytes: number;
  };
}

/** TimersConfig is the `timers` group of the relay config. */
export interface TimersConfig {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly emptyWorkspaceTtlMs: number;
  readonly cleanupIntervalMs: number;
  readonly drainGraceMs: number;
}

export function buildLimits(e: EnvValues): LimitsConfig {
  return {
    maxTotalConnections: e.RELAY_MAX_TOTAL_CONNECTIONS,
    maxConnectionsPerIp: e.RELAY_MAX_CONNECTIONS_PER_IP,
    maxClientsPerWorkspace: e.RELAY_MAX_CLIENTS_PER_WORKSPACE,
    maxFrameBytes: e.RELAY_MAX_FRAME_BYTES,
    maxPendingBytes: e.RELAY_MAX_PENDING_BYTES,
    upgradeRatePerMinute: e.RELAY_UPGRADE_RATE_PER_MINUTE,
    upgradeBucketMax: e.RELAY_UPGRADE_BUCKET_MAX,
    kexInitRatePerMinute: e.RELAY_KEX_INIT_RATE_PER_MINUTE,
    kexRateLimiterMaxKeys: e.RELAY_KEX_RATE_LIMITER_MAX_KEYS,
    runtimeRatePerMinute: e.RELAY_RUNTIME_RATE_PER_MINUTE,
    runtimeRatePerMinuteWorkspace: e.RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE,
    runtimeRateLimiterMaxKeys: e.RELAY_RUNTIME_RATE_LIMITER_MAX_KEYS,
    runtimeWorkspaceRateLimiterMaxKeys: e.RELAY_RUNTIME_WORKSPACE_RATE_LIMITER_MAX_KEYS,
    daemonRuntimeRatePerMinute: e.RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE,
    daemonRateLimiterMaxKeys: e.RELAY_DAEMON_RATE_LIMITER_MAX_KEYS,
    pairingRatePerMinute: e.RELAY_PAIRING_RATE_PER_MINUTE,
    pairingRateLimiterMaxKeys: e.RELAY_PAIRING_RATE_LIMITER_MAX_KEYS,
    pairingRequestTrackMax: e.RELAY_PAIRING_REQUEST_TRACK_MAX,
    sessionOwnerTrackMax: e.RELAY_SESSION_OWNER_TRACK_MAX,
    clientInboundFramesPerSecond: e.RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND,
    clientInboundBytesPerSecond: e.RELAY_CLIENT_INBOUND_BYTES_PER_SECOND,
    daemonInboundFramesPerSecond: e.RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND,
    daemonInboundBytesPerSecond: e.RELAY_DAEMON_INBOUND_BYTES_PER_SECOND,
    maxInvalidFramesPerMinute: e.RELAY_MAX_INVALID_FRAMES_PER_MINUTE,
    workerTunnel: {
      maxInFlightPerWorker: e.RELAY_WORKER_MAX_IN_FLIGHT,
      maxBufferedBytesPerWorker: e.RELAY_WORKER_MAX_BUFFERED_BYTES,
      maxBufferedBytesTotal: e.RELAY_WORKER_MAX_BUFFERED_BYTES_TOTAL,
      reserveBytes: e.RELAY_WORKER_MAX_RESPONSE_BYTES,
    },
  };
}

export function buildTimers(e: EnvValues): TimersConfig {
  return {
    pingIntervalMs: e.RELAY_PING_INTERVAL_MS,
    pongTimeoutMs: e.RELAY_PONG_TIMEOUT_MS,
    idleTimeoutMs: e.RELAY_IDLE_TIMEOUT_MS,
    emptyWorkspaceTtlMs: e.RELAY_EMPTY_WORKSPACE_TTL_MS,
    cleanupIntervalMs: e.RELAY_CLEANUP_INTERVAL_MS,
    drainGraceMs: e.RELAY_DRAIN_GRACE_MS,
  };
}
