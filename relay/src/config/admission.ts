// Admission options: the mode (explicit, else inferred from which endpoints
// are configured), the validate and JWKS endpoints, the JWT rules and the
// positive-admission cache.
import type { PlatformOrigin } from './platform.js';
import type { EnvValues } from './schema.js';

export type AdmissionMode = 'remote' | 'jwks' | 'jwks+remote';

/** AdmissionConfig is the `admission` group of the relay config. */
export interface AdmissionConfig {
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
  /** Longest token lifetime admitted (exp - iat), docs/protocol.md#token-lifetime. */
  readonly maxLifetimeSeconds: number;
  /** How far a token's iat may lie in the future, and its exp in the past. */
  readonly clockSkewSeconds: number;
}

export const VALIDATE_PATH = '/api/runtime/internal/relay/validate';

/** buildAdmission reads the admission group; a jwks mode needs RELAY_JWKS_URL. */
export function buildAdmission(e: EnvValues, origin: PlatformOrigin, errors: string[]): AdmissionConfig {
  const validateUrl = e.RELAY_VALIDATE_URL ?? new URL(VALIDATE_PATH, origin.url).toString();
  const remoteConfigured = e.RELAY_VALIDATE_URL !== undefined || origin.explicit;
  const mode: AdmissionMode =
    e.RELAY_ADMISSION_MODE ??
    (e.RELAY_JWKS_URL !== undefined ? (remoteConfigured ? 'jwks+remote' : 'jwks') : 'remote');
  if (mode !== 'remote' && e.RELAY_JWKS_URL === undefined) {
    errors.push(`RELAY_JWKS_URL is required when RELAY_ADMISSION_MODE=${mode}`);
  }
  return {
    mode,
    validateUrl,
    jwksUrl: e.RELAY_JWKS_URL,
    jwtIssuer: e.RELAY_JWT_ISSUER ?? 'viewport-server',
    jwtAudience: e.RELAY_JWT_AUDIENCE ?? 'viewport-relay',
    jwtAlgorithms: e.RELAY_JWT_ALGORITHMS.length > 0 ? e.RELAY_JWT_ALGORITHMS : ['RS256', 'ES256', 'EdDSA'],
    handshakeTimeoutMs: e.RELAY_HANDSHAKE_TIMEOUT_MS,
    cacheTtlMs: e.RELAY_ADMISSION_CACHE_TTL_MS,
    cacheMaxEntries: e.RELAY_ADMISSION_CACHE_MAX,
    maxLifetimeSeconds: e.RELAY_MAX_TOKEN_LIFETIME_SECONDS,
    clockSkewSeconds: e.RELAY_JWT_CLOCK_SKEW_SECONDS,
  };
}
