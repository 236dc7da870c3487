// Relay configuration: every environment variable is read here once, checked
// with zod, cross-validated by the mode rules of spec §10.2, and frozen. All
// problems are collected and reported together; secret values never appear
// in a message (only variable names do).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';

export type RelayMode = 'dev' | 'staging' | 'prod';
export type AdmissionMode = 'remote' | 'jwks' | 'jwks+remote';
export type BackplaneModeName = 'single' | 'server' | 'redis';
export type TriState = 'auto' | '0' | '1';

/** Config is the relay's frozen configuration; built only by parseConfig. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly maxLogs: number;
  readonly mode: RelayMode;
  readonly relayId: string;
  readonly serverUrl: string;
  readonly publicWsBaseUrl: string;
  /** Which of relayId and publicWsBaseUrl were derived from HOST/PORT (bindPort rewrites only those). */
  readonly derived: { readonly relayId: boolean; readonly publicWsBaseUrl: boolean };
  readonly tls: {
    readonly enabled: boolean;
    readonly termination: 'self' | 'platform';
    readonly host: string;
    readonly certPath: string;
    readonly keyPath: string;
  };
  readonly platform: {
    readonly internalKey?: string | undefined;
    readonly authMode: 'mtls' | 'private_network_shared_secret';
    readonly tlsVerify: TriState;
    readonly caCertPath?: string | undefined;
    readonly mtls: boolean;
    readonly clientCertPath?: string | undefined;
    readonly clientKeyPath?: string | undefined;
    readonly clientKeyPassphrase?: string | undefined;
    readonly admissionTimeoutMs: number;
    readonly admissionMaxResponseBytes: number;
    readonly internalApiTimeoutMs: number;
    readonly internalApiMaxResponseBytes: number;
    /** Worker transport: deadline and response cap per forwarded request (G-18). */
    readonly workerTimeoutMs: number;
    readonly workerMaxResponseBytes: number;
  };
  readonly admission: {
    readonly mode: AdmissionMode;
    readonly validateUrl: string;
    readonly jwksUrl?: string | undefined;
    readonly jwtIssuer: string;
    readonly jwtAudience: string;
    readonly jwtAlgorithms: readonly string[];
    /** Deadline for the whole pre-101 phase of one upgrade (admission included). */
    readonly handshakeTimeoutMs: number;
    /** How long a positive admission may be reused for the same token and scope; 0 = off (R-ADM-4). */
    readonly cacheTtlMs: number;
    readonly cacheMaxEntries: number;
  };
  readonly admin: {
    readonly enabled: boolean;
    readonly token?: string | undefined;
    readonly healthVerbose: boolean;
    readonly stateIncludeClientIds: boolean;
    /** probePage serves the browser probe page at `/` (default on in dev only; see probe-page/). */
    readonly probePage: boolean;
  };
  readonly limits: {
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
  };
  readonly timers: {
    readonly pingIntervalMs: number;
    readonly pongTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly emptyWorkspaceTtlMs: number;
    readonly cleanupIntervalMs: number;
    readonly drainGraceMs: number;
  };
  readonly backplane: {
    readonly mode: BackplaneModeName;
    readonly redisUrl?: string | undefined;
    readonly redisKeyPrefix: string;
    readonly redisConnectTimeoutMs: number;
    readonly redisPresenceTtlMs: number;
    readonly redisQueueMax: number;
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
  };
  readonly network: {
    readonly trustedProxies: readonly string[];
    /** Empty = any Origin accepted (the reference never checks it). */
    readonly allowedOrigins: readonly string[];
  };
}

/** ConfigResult is parseConfig's answer: a config, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** ConfigIo is the little I/O parseConfig needs, injected so it stays pure in tests. */
export interface ConfigIo {
  readonly fileExists: (path: string) => boolean;
  readonly randomHex: (bytes: number) => string;
  readonly homeDir: string;
}

/** defaultConfigIo reads the real file system and crypto randomness. */
export const defaultConfigIo: ConfigIo = {
  fileExists: (p) => existsSync(p),
  randomHex: (n) => randomBytes(n).toString('hex'),
  homeDir: homedir(),
};

export const VALIDATE_PATH = '/api/runtime/internal/relay/validate';
const DEFAULT_SERVER_URL = 'https://api.getviewport.com';
const DEFAULT_TLS_HOST = 'relay.getviewport.com';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const WEAK_KEY_MARKERS = ['change-me', 'placeholder', 'example'];

// Doc names accepted as aliases (spec §10.3); the source name wins when both are set.
const ALIASES: ReadonlyArray<readonly [alias: string, source: string]> = [['RELAY_LISTEN_PORT', 'PORT']];

type Env = Readonly<Record<string, string | undefined>>;

// ---- field readers: each turns one env string into a value or a zod issue ----

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

function intVar(def: number, min = 1) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!present(v)) return def;
      const n = Number(v.trim());
      if (!Number.isSafeInteger(n) || n < min) {
        ctx.addIssue({ code: 'custom', message: `must be an integer >= ${min}` });
        return z.NEVER;
      }
      return n;
    });
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/** Booleans accept 0/1/true/false/yes/no/on/off; empty counts as unset (G-24). */
function boolVar() {
  return z
    .string()
    .optional()
    .transform((v, ctx): boolean | undefined => {
      if (!present(v)) return undefined;
      const w = v.trim();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be one of 0 1 true false yes no on off' });
      return z.NEVER;
    });
}

function enumVar<T extends string>(values: readonly T[], opts: { lower?: boolean } = {}) {
  return z
    .string()
    .optional()
    .transform((v, ctx): T | undefined => {
      if (!present(v)) return undefined;
      const w = opts.lower ? v.trim().toLowerCase() : v.trim();
      if ((values as readonly string[]).includes(w)) return w as T;
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    });
}

function strVar() {
  return z
    .string()
    .optional()
    .transform((v) => (present(v) ? v.trim() : undefined));
}

function urlVar(protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((v, ctx): string | undefined => {
      if (!present(v)) return undefined;
      try {
        const u = new URL(v.trim());
        if (!protocols.includes(u.protocol)) throw new Error('scheme');
        return v.trim();
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL with scheme ${protocols.join(' or ')}` });
        return z.NEVER;
      }
    });
}

function csvVar(check?: (entry: string) => boolean, what = 'entry') {
  return z
    .string()
    .optional()
    .transform((v, ctx): string[] => {
      if (!present(v)) return [];
      const entries = v
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      const bad = check ? entries.filter((e) => !check(e)) : [];
      if (bad.length > 0) {
        ctx.addIssue({ code: 'custom', message: `has ${bad.length} invalid ${what}(s)` });
        return z.NEVER;
      }
      return entries;
    });
}

/** isIpOrCidr accepts an IPv4/IPv6 address or a CIDR block of one. */
export function isIpOrCidr(entry: string): boolean {
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128) && /^\d+$/.test(bits);
}

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
  RELAY_VALIDATE_URL: urlVar(['http:', 'https:']),
  RELAY_JWKS_URL: urlVar(['http:', 'https:']),
  RELAY_ADMISSION_MODE: enumVar(['remote', 'jwks', 'jwks+remote'] as const),
  RELAY_JWT_ISSUER: strVar(),
  RELAY_JWT_AUDIENCE: strVar(),
  RELAY_JWT_ALGORITHMS: csvVar((a) => JWT_ALGORITHMS.includes(a), 'algorithm'),
  RELAY_HANDSHAKE_TIMEOUT_MS: intVar(5000),
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

/** CONFIG_VARIABLES lists every variable parseConfig reads (docs and tests use it). */
export const CONFIG_VARIABLES: readonly string[] = [
  ...Object.keys(EnvSchema.shape),
  ...ALIASES.map(([alias]) => alias),
];

/** peerLinkUrl is the ws:// URL peers dial for host and port (IPv6 bracketed); undefined for a host that is not one. */
export function peerLinkUrl(host: string, port: number): string | undefined {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  const version = isIP(bare);
  if (version === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(bare)) return undefined;
  return `ws://${version === 6 ? `[${bare}]` : bare}:${port}`;
}

function hostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** isLocalHost: loopback names and the reserved *.test domain count as local. */
export function isLocalHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || h.endsWith('.test');
}

/**
 * parseConfig turns an environment into a frozen Config, or lists every problem.
 * Pure apart from the injected io (file existence for TLS/mTLS, randomness for RELAY_ID).
 */
export function parseConfig(env: Env, io: ConfigIo = defaultConfigIo): ConfigResult {
  const merged: Record<string, string | undefined> = { ...env };
  for (const [alias, source] of ALIASES) {
    if (!present(merged[source]) && present(env[alias])) merged[source] = env[alias];
  }
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const shown = ALIASES.find(([a, s]) => s === name && !present(env[s]) && present(env[a]));
      return `${shown ? shown[0] : name} ${issue.message}`;
    });
    return { ok: false, errors };
  }
  const e = parsed.data;
  const errors: string[] = [];

  const host = e.HOST ?? '127.0.0.1';
  const hostIsLoopback = LOOPBACK_HOSTS.has(host.toLowerCase());

  // Mode inference (§10.2): local-looking settings mean dev.
  const urlsUnset = e.SERVER_URL === undefined && e.RELAY_PUBLIC_WS_BASE_URL === undefined;
  const anyUrlLocal = isLocalHost(hostOf(e.SERVER_URL)) || isLocalHost(hostOf(e.RELAY_PUBLIC_WS_BASE_URL));
  const mode: RelayMode = e.RELAY_MODE ?? (urlsUnset || hostIsLoopback || anyUrlLocal ? 'dev' : 'prod');

  // Backplane mode (§7.1) before SERVER_URL, since RELAY_BACKPLANE_URL may stand in for it.
  const backplaneMode: BackplaneModeName =
    e.RELAY_BACKPLANE_MODE ??
    (e.RELAY_INTERNAL_KEY !== undefined || e.RELAY_BUS_ENABLED === true || e.RELAY_PRESENCE_SYNC_ENABLED === true
      ? 'server'
      : 'single');
  const backplaneUrl = e.RELAY_BACKPLANE_URL;
  if (backplaneUrl !== undefined && backplaneMode === 'redis' && !/^rediss?:/.test(backplaneUrl)) {
    errors.push('RELAY_BACKPLANE_URL must be a redis:// URL in redis mode');
  }
  if (backplaneUrl !== undefined && backplaneMode === 'server' && !/^https?:/.test(backplaneUrl)) {
    errors.push('RELAY_BACKPLANE_URL must be an http(s) URL in server mode');
  }

  const validateOrigin = e.RELAY_VALIDATE_URL ? new URL(e.RELAY_VALIDATE_URL).origin : undefined;
  const serverUrl =
    e.SERVER_URL ??
    (backplaneMode === 'server' ? backplaneUrl : undefined) ??
    validateOrigin ??
    DEFAULT_SERVER_URL;
  const serverUrlExplicit = serverUrl !== DEFAULT_SERVER_URL || e.SERVER_URL !== undefined;

  // TLS listener.
  const tlsHost = e.RELAY_TLS_HOST ?? DEFAULT_TLS_HOST;
  const certDir = e.RELAY_TLS_CERT_DIR ?? join(io.homeDir, '.viewport', 'relay-certs');
  const certPath = e.RELAY_TLS_CERT_PATH ?? join(certDir, `${tlsHost}.crt`);
  const keyPath = e.RELAY_TLS_KEY_PATH ?? join(certDir, `${tlsHost}.key`);
  const tlsSetting = e.RELAY_TLS ?? 'auto';
  const tlsFilesExist = io.fileExists(certPath) && io.fileExists(keyPath);
  const tlsEnabled = tlsSetting === '1' || (tlsSetting === 'auto' && tlsFilesExist);
  if (tlsSetting === '1' && !tlsFilesExist) {
    errors.push('RELAY_TLS=1 but the certificate or key file does not exist (RELAY_TLS_CERT_PATH, RELAY_TLS_KEY_PATH)');
  }
  const port = e.PORT;
  const scheme = tlsEnabled ? 'wss' : 'ws';
  // A loopback dev relay advertises its own address; otherwise the spec's default.
  const defaultPublic =
    hostIsLoopback && e.RELAY_TLS_HOST === undefined
      ? `${scheme}://${host === '::1' ? '[::1]' : host}:${port}/ws`
      : tlsHost === DEFAULT_TLS_HOST && port === 7781
        ? 'wss://relay.getviewport.com/ws'
        : `${scheme}://${tlsHost}:${port}/ws`;
  const publicWsBaseUrl = e.RELAY_PUBLIC_WS_BASE_URL ?? defaultPublic;

  // Platform link and mTLS.
  const mtls =
    e.RELAY_SERVER_MTLS ?? (e.RELAY_SERVER_CLIENT_CERT_PATH !== undefined && e.RELAY_SERVER_CLIENT_KEY_PATH !== undefined);
  if (mtls) {
    for (const name of ['RELAY_SERVER_CLIENT_CERT_PATH', 'RELAY_SERVER_CLIENT_KEY_PATH'] as const) {
      const p = e[name];
      if (p === undefined) errors.push(`${name} is required when mTLS to the platform is on`);
      else if (!io.fileExists(p)) errors.push(`${name} points to a file that does not exist`);
    }
  }
  if (e.RELAY_SERVER_CA_CERT_PATH !== undefined && !io.fileExists(e.RELAY_SERVER_CA_CERT_PATH)) {
    errors.push('RELAY_SERVER_CA_CERT_PATH points to a file that does not exist');
  }

  // Admission mode: explicit, else inferred from which endpoints are configured.
  const validateUrl = e.RELAY_VALIDATE_URL ?? new URL(VALIDATE_PATH, serverUrl).toString();
  const remoteConfigured = e.RELAY_VALIDATE_URL !== undefined || serverUrlExplicit;
  const admissionMode: AdmissionMode =
    e.RELAY_ADMISSION_MODE ??
    (e.RELAY_JWKS_URL !== undefined ? (remoteConfigured ? 'jwks+remote' : 'jwks') : 'remote');
  if (admissionMode !== 'remote' && e.RELAY_JWKS_URL === undefined) {
    errors.push(`RELAY_JWKS_URL is required when RELAY_ADMISSION_MODE=${admissionMode}`);
  }

  // Backplane features: single forces them off; elsewhere the bus defaults ON (G-2).
  const multi = backplaneMode !== 'single';
  const busEnabled = multi && (e.RELAY_BUS_ENABLED ?? true);
  const presenceSyncEnabled = multi && (e.RELAY_PRESENCE_SYNC_ENABLED ?? true);
  const clientRedirectEnabled = multi && (e.RELAY_CLIENT_REDIRECT_ENABLED ?? true);
  const redisUrl = e.RELAY_REDIS_URL ?? (backplaneMode === 'redis' ? backplaneUrl : undefined);
  if (multi && e.RELAY_INTERNAL_KEY === undefined) {
    errors.push(`RELAY_INTERNAL_KEY is required in ${backplaneMode} backplane mode`);
  }
  if (multi && busEnabled && e.RELAY_BUS_HMAC_KEY === undefined) {
    errors.push(
      `RELAY_BUS_HMAC_KEY is required when the bus is on in ${backplaneMode} mode (or set RELAY_BACKPLANE_MODE=single)`,
    );
  }
  if (e.RELAY_REDIS_TLS_CA_PATH !== undefined && !io.fileExists(e.RELAY_REDIS_TLS_CA_PATH)) {
    errors.push('RELAY_REDIS_TLS_CA_PATH points to a file that does not exist');
  }
  const peerUrl = e.RELAY_PEER_LINK_PORT > 0 && e.RELAY_PEER_LINK_HOST !== undefined ? peerLinkUrl(e.RELAY_PEER_LINK_HOST, e.RELAY_PEER_LINK_PORT) : undefined;
  if (e.RELAY_PEER_LINK_PORT > 0) {
    if (backplaneMode !== 'redis' || !busEnabled) errors.push('RELAY_PEER_LINK_PORT needs RELAY_BACKPLANE_MODE=redis with the bus on');
    if (e.RELAY_PEER_LINK_PORT > 65535) errors.push('RELAY_PEER_LINK_PORT must be a TCP port (1-65535, or 0 for off)');
    if (e.RELAY_PEER_LINK_HOST === undefined) errors.push('RELAY_PEER_LINK_HOST (the address other relays dial, e.g. the pod IP) is required when RELAY_PEER_LINK_PORT is set');
    else if (peerUrl === undefined) errors.push('RELAY_PEER_LINK_HOST must be a host name or an IP address');
  }
  if (backplaneMode === 'redis' && redisUrl === undefined) {
    errors.push('RELAY_REDIS_URL (or RELAY_BACKPLANE_URL) is required in redis backplane mode');
  }

  // Local URLs are for loopback development only.
  if (anyUrlLocal && !hostIsLoopback) {
    errors.push(
      'SERVER_URL and RELAY_PUBLIC_WS_BASE_URL must be set explicitly outside local loopback development',
    );
  }

  const authMode = e.RELAY_SERVER_AUTH_MODE ?? 'mtls';
  const tlsVerify = e.RELAY_SERVER_TLS_VERIFY ?? 'auto';
  const termination = e.RELAY_TLS_TERMINATION ?? 'self';
  if (mode === 'prod') {
    if (!tlsEnabled && termination !== 'platform') {
      errors.push('prod mode needs TLS on (RELAY_TLS) or RELAY_TLS_TERMINATION=platform');
    }
    const key = e.RELAY_INTERNAL_KEY ?? '';
    if (key.length < 24 || WEAK_KEY_MARKERS.some((m) => key.toLowerCase().includes(m))) {
      errors.push('prod mode needs a RELAY_INTERNAL_KEY of at least 24 characters that is not a placeholder');
    }
    if (authMode === 'mtls' && (!mtls || tlsVerify !== '1')) {
      errors.push('prod mode with RELAY_SERVER_AUTH_MODE=mtls needs mTLS on and RELAY_SERVER_TLS_VERIFY=1');
    }
    if (authMode === 'private_network_shared_secret' && isLocalHost(hostOf(serverUrl))) {
      errors.push('prod mode with private_network_shared_secret needs a non-local SERVER_URL');
    }
  }

  // Outside dev the probe page hands out nothing without the admin token, so it needs one.
  if (e.RELAY_PROBE_PAGE === true && mode !== 'dev' && (e.RELAY_ENABLE_ADMIN_HTTP !== true || e.RELAY_ADMIN_TOKEN === undefined)) {
    errors.push('RELAY_PROBE_PAGE=1 outside dev mode needs RELAY_ENABLE_ADMIN_HTTP=1 and RELAY_ADMIN_TOKEN');
  }

  if (errors.length > 0) return { ok: false, errors };

  const verboseDefault = mode === 'dev';
  const config: Config = {
    host,
    port,
    maxLogs: e.MAX_LOGS,
    mode,
    relayId: e.RELAY_ID ?? `${host}:${port}:${io.randomHex(6)}`,
    serverUrl,
    publicWsBaseUrl,
    derived: { relayId: e.RELAY_ID === undefined, publicWsBaseUrl: e.RELAY_PUBLIC_WS_BASE_URL === undefined },
    tls: { enabled: tlsEnabled, termination, host: tlsHost, certPath, keyPath },
    platform: {
      internalKey: e.RELAY_INTERNAL_KEY,
      authMode,
      tlsVerify,
      caCertPath: e.RELAY_SERVER_CA_CERT_PATH,
      mtls,
      clientCertPath: e.RELAY_SERVER_CLIENT_CERT_PATH,
      clientKeyPath: e.RELAY_SERVER_CLIENT_KEY_PATH,
      clientKeyPassphrase: e.RELAY_SERVER_CLIENT_KEY_PASSPHRASE,
      admissionTimeoutMs: e.RELAY_ADMISSION_TIMEOUT_MS,
      admissionMaxResponseBytes: e.RELAY_ADMISSION_MAX_RESPONSE_BYTES,
      internalApiTimeoutMs: e.RELAY_INTERNAL_API_TIMEOUT_MS,
      internalApiMaxResponseBytes: e.RELAY_INTERNAL_API_MAX_RESPONSE_BYTES,
      workerTimeoutMs: e.RELAY_WORKER_TIMEOUT_MS,
      workerMaxResponseBytes: e.RELAY_WORKER_MAX_RESPONSE_BYTES,
    },
    admission: {
      mode: admissionMode,
      validateUrl,
      jwksUrl: e.RELAY_JWKS_URL,
      jwtIssuer: e.RELAY_JWT_ISSUER ?? 'viewport-server',
      jwtAudience: e.RELAY_JWT_AUDIENCE ?? 'viewport-relay',
      jwtAlgorithms: e.RELAY_JWT_ALGORITHMS.length > 0 ? e.RELAY_JWT_ALGORITHMS : ['RS256', 'ES256', 'EdDSA'],
      handshakeTimeoutMs: e.RELAY_HANDSHAKE_TIMEOUT_MS,
      cacheTtlMs: e.RELAY_ADMISSION_CACHE_TTL_MS,
      cacheMaxEntries: e.RELAY_ADMISSION_CACHE_MAX,
    },
    admin: {
      enabled: e.RELAY_ENABLE_ADMIN_HTTP ?? false,
      token: e.RELAY_ADMIN_TOKEN,
      healthVerbose: e.RELAY_HEALTH_VERBOSE ?? verboseDefault,
      stateIncludeClientIds: e.RELAY_STATE_INCLUDE_CLIENT_IDS ?? verboseDefault,
      probePage: e.RELAY_PROBE_PAGE ?? mode === 'dev',
    },
    limits: {
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
    },
    timers: {
      pingIntervalMs: e.RELAY_PING_INTERVAL_MS,
      pongTimeoutMs: e.RELAY_PONG_TIMEOUT_MS,
      idleTimeoutMs: e.RELAY_IDLE_TIMEOUT_MS,
      emptyWorkspaceTtlMs: e.RELAY_EMPTY_WORKSPACE_TTL_MS,
      cleanupIntervalMs: e.RELAY_CLEANUP_INTERVAL_MS,
      drainGraceMs: e.RELAY_DRAIN_GRACE_MS,
    },
    backplane: {
      mode: backplaneMode,
      redisUrl,
      redisKeyPrefix: e.RELAY_REDIS_KEY_PREFIX ?? 'viewport:relay',
      redisConnectTimeoutMs: e.RELAY_REDIS_CONNECT_TIMEOUT_MS,
      redisPresenceTtlMs: e.RELAY_REDIS_PRESENCE_TTL_MS,
      redisQueueMax: e.RELAY_REDIS_QUEUE_MAX,
      peerLinkPort: e.RELAY_PEER_LINK_PORT,
      peerLinkUrl: peerUrl,
      redisTlsCaPath: e.RELAY_REDIS_TLS_CA_PATH,
      presenceSyncEnabled,
      presenceSyncIntervalMs: e.RELAY_PRESENCE_SYNC_INTERVAL_MS,
      presenceResolveCacheMax: e.RELAY_PRESENCE_RESOLVE_CACHE_MAX,
      busEnabled,
      busHmacKey: e.RELAY_BUS_HMAC_KEY,
      busPollIntervalMs: e.RELAY_BUS_POLL_INTERVAL_MS,
      busPullLimit: e.RELAY_BUS_PULL_LIMIT,
      busPullWaitMs: Math.min(2000, e.RELAY_BUS_PULL_WAIT_MS),
      busSignatureMaxSkewMs: e.RELAY_BUS_SIGNATURE_MAX_SKEW_MS,
      busFreshnessTrackMax: e.RELAY_BUS_FRESHNESS_TRACK_MAX,
      clientRedirectEnabled,
      redirectAllowedHosts: e.RELAY_REDIRECT_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
    },
    network: {
      trustedProxies: e.RELAY_TRUSTED_PROXIES,
      allowedOrigins: e.RELAY_ALLOWED_ORIGINS.map((o) => o.toLowerCase()),
    },
  };
  return { ok: true, config: deepFreeze(config) };
}

/**
 * bindPort fills in the port the listener actually got when PORT was 0: a derived
 * relayId and public URL would otherwise name port 0, and relays started that way
 * on one host would share an id prefix that says nothing. Explicit values stay as set.
 */
export function bindPort(config: Config, boundPort: number): Config {
  if (config.port !== 0) return config;
  const zeroId = `${config.host}:0:`;
  const relayId = config.derived.relayId && config.relayId.startsWith(zeroId) ? `${config.host}:${boundPort}:${config.relayId.slice(zeroId.length)}` : config.relayId;
  const publicWsBaseUrl = config.derived.publicWsBaseUrl ? config.publicWsBaseUrl.replace(/:0\/ws$/, `:${boundPort}/ws`) : config.publicWsBaseUrl;
  return deepFreeze({ ...config, port: boundPort, relayId, publicWsBaseUrl });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** processEnvironment is the process environment; the CLI passes it to parseConfig (the only env reader). */
export function processEnvironment(): Readonly<Record<string, string | undefined>> {
  return process.env;
}
