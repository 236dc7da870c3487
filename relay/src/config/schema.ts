// The environment schema: every variable the relay reads, its reader and its
// default, plus the doc-name aliases. readEnvironment applies it and names the
// variable (as the user spelled it) in every problem, never its value.
import { z } from 'zod';
import { boolVar, csvVar, enumVar, intVar, present, strVar, urlVar } from './fields.js';
import { isIpOrCidr } from './hosts.js';

/** Env is a process environment, or a test's stand-in for one. */
export type Env = Readonly<Record<string, string | undefined>>;

// Doc names accepted as aliases (docs/protocol.md#config-aliases); the source name wins when both are set.
const ALIASES: ReadonlyArray<readonly [alias: string, source: string]> = [['RELAY_LISTEN_PORT', 'PORT']];

const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const EnvSchema = z.object({
  HOST: strVar(),
  PORT: intVar(7781, 0),
  MAX_LOGS: intVar(400),
  RELAY_MODE: enumVar(['dev', 'staging', 'prod'] as const),
  RELAY_ID: strVar(),
  SERVER_URL: urlVar(['http:', 'https:']),
  RELAY_PUBLIC_WS_BASE_URL: urlVar(['ws:', 'wss:']),
  RELAY_TLS: enumVar(['auto', '0', '1'] as const, { lower: true }),
  RELAY_TLS_TERMINATION: enumVar(['self', 'platform'] as const),
  RELAY_TLS_HOST: strVar(),
  RELAY_TLS_CERT_DIR: strVar(),
  RELAY_TLS_CERT_PATH: strVar(),
  RELAY_TLS_KEY_PATH: strVar(),
  RELAY_INTERNAL_KEY: strVar(),
  RELAY_SERVER_AUTH_MODE: enumVar(['mtls', 'private_network_shared_secret'] as const),
  RELAY_SERVER_TLS_VERIFY: enumVar(['auto', '0', '1'] as const),
  RELAY_SERVER_CA_CERT_PATH: strVar(),
  RELAY_SERVER_MTLS: boolVar(),
  RELAY_SERVER_CLIENT_CERT_PATH: strVar(),
  RELAY_SERVER_CLIENT_KEY_PATH: strVar(),
  RELAY_SERVER_CLIENT_KEY_PASSPHRASE: strVar(),
  RELAY_ADMISSION_TIMEOUT_MS: intVar(2000),
  RELAY_ADMISSION_MAX_RESPONSE_BYTES: intVar(262144),
  RELAY_ADMISSION_CACHE_TTL_MS: intVar(0, 0),
  RELAY_ADMISSION_CACHE_MAX: intVar(10000),
  RELAY_INTERNAL_API_TIMEOUT_MS: intVar(2000),
  RELAY_INTERNAL_API_MAX_RESPONSE_BYTES: intVar(262144),
  RELAY_WORKER_TIMEOUT_MS: intVar(30000),
  RELAY_WORKER_MAX_RESPONSE_BYTES: intVar(4194304),
  RELAY_WORKER_MAX_IN_FLIGHT: intVar(8),
  RELAY_WORKER_MAX_BUFFERED_BYTES: intVar(33554432),
  RELAY_WORKER_MAX_BUFFERED_BYTES_TOTAL: intVar(134217728),
  RELAY_VALIDATE_URL: urlVar(['http:', 'https:']),
  RELAY_JWKS_URL: urlVar(['http:', 'https:']),
  RELAY_ADMISSION_MODE: enumVar(['remote', 'jwks', 'jwks+remote'] as const),
  RELAY_JWT_ISSUER: strVar(),
  RELAY_JWT_AUDIENCE: strVar(),
  RELAY_JWT_ALGORITHMS: csvVar((a) => JWT_ALGORITHMS.includes(a), 'algorithm'),
  RELAY_HANDSHAKE_TIMEOUT_MS: intVar(5000),
  RELAY_MAX_TOKEN_LIFETIME_SECONDS: intVar(86400),
  RELAY_JWT_CLOCK_SKEW_SECONDS: intVar(60, 0),
  RELAY_ENABLE_ADMIN_HTTP: boolVar(),
  RELAY_ADMIN_TOKEN: strVar(),
  RELAY_PROBE_PAGE: boolVar(),
  RELAY_HEALTH_VERBOSE: boolVar(),
  RELAY_STATE_INCLUDE_CLIENT_IDS: boolVar(),
  RELAY_MAX_TOTAL_CONNECTIONS: intVar(2000),
  RELAY_MAX_CONNECTIONS_PER_IP: intVar(50),
  RELAY_MAX_CLIENTS_PER_WORKSPACE: intVar(100),
  RELAY_MAX_FRAME_BYTES: intVar(1048576),
  RELAY_MAX_PENDING_BYTES: intVar(4194304),
  RELAY_UPGRADE_RATE_PER_MINUTE: intVar(120),
  RELAY_UPGRADE_BUCKET_MAX: intVar(50000),
  RELAY_KEX_INIT_RATE_PER_MINUTE: intVar(60),
  RELAY_KEX_RATE_LIMITER_MAX_KEYS: intVar(20000),
  RELAY_RUNTIME_RATE_PER_MINUTE: intVar(240),
  RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE: intVar(1200),
  RELAY_RUNTIME_RATE_LIMITER_MAX_KEYS: intVar(20000),
  RELAY_RUNTIME_WORKSPACE_RATE_LIMITER_MAX_KEYS: intVar(10000),
  RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: intVar(2400),
  RELAY_DAEMON_RATE_LIMITER_MAX_KEYS: intVar(10000),
  RELAY_PAIRING_RATE_PER_MINUTE: intVar(30),
  RELAY_PAIRING_RATE_LIMITER_MAX_KEYS: intVar(20000),
  RELAY_PAIRING_REQUEST_TRACK_MAX: intVar(2048),
  RELAY_SESSION_OWNER_TRACK_MAX: intVar(4096),
  RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: intVar(100),
  RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: intVar(2097152),
  RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: intVar(1000),
  RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: intVar(16777216),
  RELAY_MAX_INVALID_FRAMES_PER_MINUTE: intVar(30),
  RELAY_PING_INTERVAL_MS: intVar(30000),
  RELAY_PONG_TIMEOUT_MS: intVar(10000),
  RELAY_IDLE_TIMEOUT_MS: intVar(300000),
  RELAY_EMPTY_WORKSPACE_TTL_MS: intVar(120000),
  RELAY_CLEANUP_INTERVAL_MS: intVar(30000),
  RELAY_DRAIN_GRACE_MS: intVar(10000),
  RELAY_BACKPLANE_MODE: enumVar(['single', 'server', 'redis'] as const),
  RELAY_BACKPLANE_URL: urlVar(['http:', 'https:', 'redis:', 'rediss:']),
  RELAY_REDIS_URL: urlVar(['redis:', 'rediss:']),
  RELAY_REDIS_KEY_PREFIX: strVar(),
  RELAY_REDIS_CONNECT_TIMEOUT_MS: intVar(5000),
  RELAY_REDIS_PRESENCE_TTL_MS: intVar(45000),
  RELAY_REDIS_QUEUE_MAX: intVar(10000),
  RELAY_REDIS_QUEUE_MAX_BYTES: intVar(67108864),
  RELAY_REDIS_LIVENESS_LAPSE_MS: intVar(5000, 2000),
  RELAY_PEER_LINK_PORT: intVar(0, 0),
  RELAY_PEER_LINK_HOST: strVar(),
  RELAY_REDIS_TLS_CA_PATH: strVar(),
  RELAY_PRESENCE_SYNC_ENABLED: boolVar(),
  RELAY_PRESENCE_SYNC_INTERVAL_MS: intVar(20000),
  RELAY_PRESENCE_RESOLVE_CACHE_MAX: intVar(10000),
  RELAY_BUS_ENABLED: boolVar(),
  RELAY_BUS_HMAC_KEY: strVar(),
  RELAY_BUS_POLL_INTERVAL_MS: intVar(250),
  RELAY_BUS_PULL_LIMIT: intVar(200),
  RELAY_BUS_PULL_WAIT_MS: intVar(1000, 0),
  RELAY_BUS_SIGNATURE_MAX_SKEW_MS: intVar(15000),
  RELAY_BUS_FRESHNESS_TRACK_MAX: intVar(20000),
  RELAY_CLIENT_REDIRECT_ENABLED: boolVar(),
  RELAY_REDIRECT_ALLOWED_HOSTS: csvVar(),
  RELAY_TRUSTED_PROXIES: csvVar(isIpOrCidr, 'IP or CIDR'),
  RELAY_ALLOWED_ORIGINS: csvVar((o) => /^https?:\/\/[^/\s]+$/i.test(o), 'origin'),
});

/** EnvValues is the environment after parsing: typed values, defaults applied. */
export type EnvValues = z.output<typeof EnvSchema>;

/** CONFIG_VARIABLES lists every variable parseConfig reads (docs and tests use it). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(EnvSchema.shape),
  ...ALIASES.map(([alias]) => alias),
];

/** readEnvironment applies the schema (aliases first) and lists every field problem. */
export function readEnvironment(env: Env): { ok: true; values: EnvValues } | { ok: false; errors: string[] } {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [alias, source] of ALIASES) {
    if (!present(merged[source]) && present(env[alias])) merged[source] = env[alias];
  }
  const parsed = EnvSchema.safeParse(merged);
  if (parsed.success) return { ok: true, values: parsed.data };
  const errors = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    const shown = ALIASES.find(([a, s]) => s === name && !present(env[s]) && present(env[a]));
    return `${shown ? shown[0] : name} ${issue.message}`;
  });
  return { ok: false, errors };
}
