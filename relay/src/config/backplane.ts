// Backplane options (docs/protocol.md#backplane-modes): the mode (explicit, else inferred), the store
// URLs, and the multi-relay features, which single mode forces off and the
// other modes turn on by default (docs/protocol.md#weak-bus-off). Every start-up rule for them is here.
import type { ConfigIo } from './io.js';
import { peerLinkUrl } from './hosts.js';
import type { EnvValues } from './schema.js';

export type BackplaneModeName = 'single' | 'server' | 'redis';

/** BackplaneConfig is the `backplane` group of the relay config. */
export interface BackplaneConfig {
  readonly mode: BackplaneModeName;
  readonly redisUrl?: string | undefined;
  readonly redisKeyPrefix: string;
  readonly redisConnectTimeoutMs: number;
  readonly redisPresenceTtlMs: number;
  readonly redisQueueMax: number;
  /** Approximate bytes a relay's stream may hold unread; past it publishes are refused (docs/backplane.md). */
  readonly redisQueueMaxBytes: number;
  /** A relay whose heartbeat is older than this is gone: frames for it are refused (docs/backplane.md#liveness). */
  readonly redisLivenessLapseMs: number;
  /** Port for direct links from other relays (redis mode); 0 means off. */
  readonly peerLinkPort: number;
  /** Where other relays dial this one's peer links (ws://RELAY_PEER_LINK_HOST:port); undefined when off. */
  readonly peerLinkUrl: string | undefined;
  /** PEM file of the CA that signed a rediss:// server's certificate (else the system CAs). */
  readonly redisTlsCaPath?: string | undefined;
  readonly presenceSyncEnabled: boolean;
  readonly presenceSyncIntervalMs: number;
  readonly presenceResolveCacheMax: number;
  readonly busEnabled: boolean;
  readonly busHmacKey?: string | undefined;
  readonly busPollIntervalMs: number;
  readonly busPullLimit: number;
  readonly busPullWaitMs: number;
  readonly busSignatureMaxSkewMs: number;
  readonly busFreshnessTrackMax: number;
  readonly clientRedirectEnabled: boolean;
  readonly redirectAllowedHosts: readonly string[];
}

/** backplaneModeOf: explicit, else server when anything multi-relay is configured, else single. */
export function backplaneModeOf(e: EnvValues): BackplaneModeName {
  return (
    e.RELAY_BACKPLANE_MODE ??
    (e.RELAY_INTERNAL_KEY !== undefined || e.RELAY_BUS_ENABLED === true || e.RELAY_PRESENCE_SYNC_ENABLED === true
      ? 'server'
      : 'single')
  );
}

/** checkBackplaneUrl: RELAY_BACKPLANE_URL must suit the mode it stands in for. */
export function checkBackplaneUrl(e: EnvValues, mode: BackplaneModeName, errors: string[]): void {
  const url = e.RELAY_BACKPLANE_URL;
  if (url !== undefined && mode === 'redis' && !/^rediss?:/.test(url)) {
    errors.push('RELAY_BACKPLANE_URL must be a redis:// URL in redis mode');
  }
  if (url !== undefined && mode === 'server' && !/^https?:/.test(url)) {
    errors.push('RELAY_BACKPLANE_URL must be an http(s) URL in server mode');
  }
}

/** buildBackplane reads the backplane group and checks the keys, files and peer links it needs. */
export function buildBackplane(e: EnvValues, mode: BackplaneModeName, io: ConfigIo, errors: string[]): BackplaneConfig {
  const multi = mode !== 'single';
  const busEnabled = multi && (e.RELAY_BUS_ENABLED ?? true);
  const redisUrl = e.RELAY_REDIS_URL ?? (mode === 'redis' ? e.RELAY_BACKPLANE_URL : undefined);
  if (multi && e.RELAY_INTERNAL_KEY === undefined) {
    errors.push(`RELAY_INTERNAL_KEY is required in ${mode} backplane mode`);
  }
  if (multi && busEnabled && e.RELAY_BUS_HMAC_KEY === undefined) {
    errors.push(`RELAY_BUS_HMAC_KEY is required when the bus is on in ${mode} mode (or set RELAY_BACKPLANE_MODE=single)`);
  }
  if (e.RELAY_REDIS_TLS_CA_PATH !== undefined && !io.fileExists(e.RELAY_REDIS_TLS_CA_PATH)) {
    errors.push('RELAY_REDIS_TLS_CA_PATH points to a file that does not exist');
  }
  const peerUrl = checkPeerLinks(e, mode, busEnabled, errors);
  if (mode === 'redis' && redisUrl === undefined) {
    errors.push('RELAY_REDIS_URL (or RELAY_BACKPLANE_URL) is required in redis backplane mode');
  }
  return {
    mode,
    redisUrl,
    redisKeyPrefix: e.RELAY_REDIS_KEY_PREFIX ?? 'viewport:relay',
    redisConnectTimeoutMs: e.RELAY_REDIS_CONNECT_TIMEOUT_MS,
    redisPresenceTtlMs: e.RELAY_REDIS_PRESENCE_TTL_MS,
    redisQueueMax: e.RELAY_REDIS_QUEUE_MAX,
    redisQueueMaxBytes: e.RELAY_REDIS_QUEUE_MAX_BYTES,
    redisLivenessLapseMs: e.RELAY_REDIS_LIVENESS_LAPSE_MS,
    peerLinkPort: e.RELAY_PEER_LINK_PORT,
    peerLinkUrl: peerUrl,
    redisTlsCaPath: e.RELAY_REDIS_TLS_CA_PATH,
    presenceSyncEnabled: multi && (e.RELAY_PRESENCE_SYNC_ENABLED ?? true),
    presenceSyncIntervalMs: e.RELAY_PRESENCE_SYNC_INTERVAL_MS,
    presenceResolveCacheMax: e.RELAY_PRESENCE_RESOLVE_CACHE_MAX,
    busEnabled,
    busHmacKey: e.RELAY_BUS_HMAC_KEY,
    busPollIntervalMs: e.RELAY_BUS_POLL_INTERVAL_MS,
    busPullLimit: e.RELAY_BUS_PULL_LIMIT,
    busPullWaitMs: Math.min(2000, e.RELAY_BUS_PULL_WAIT_MS),
    busSignatureMaxSkewMs: e.RELAY_BUS_SIGNATURE_MAX_SKEW_MS,
    busFreshnessTrackMax: e.RELAY_BUS_FRESHNESS_TRACK_MAX,
    clientRedirectEnabled: multi && (e.RELAY_CLIENT_REDIRECT_ENABLED ?? true),
    redirectAllowedHosts: e.RELAY_REDIRECT_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
  };
}

// Peer links need redis with the bus on, a TCP port, and a host other relays can dial.
function checkPeerLinks(e: EnvValues, mode: BackplaneModeName, busEnabled: boolean, errors: string[]): string | undefined {
  const port = e.RELAY_PEER_LINK_PORT;
  const host = e.RELAY_PEER_LINK_HOST;
  const url = port > 0 && host !== undefined ? peerLinkUrl(host, port) : undefined;
  if (port > 0) {
    if (mode !== 'redis' || !busEnabled) errors.push('RELAY_PEER_LINK_PORT needs RELAY_BACKPLANE_MODE=redis with the bus on');
    if (port > 65535) errors.push('RELAY_PEER_LINK_PORT must be a TCP port (1-65535, or 0 for off)');
    if (host === undefined) errors.push('RELAY_PEER_LINK_HOST (the address other relays dial, e.g. the pod IP) is required when RELAY_PEER_LINK_PORT is set');
    else if (url === undefined) errors.push('RELAY_PEER_LINK_HOST must be a host name or an IP address');
  }
  return url;
}
