// Local JWT admission: verify the relay token against the issuer's JWKS
// (cached by jose, re-fetched on an unknown kid after a cool-down, so key
// rotation needs no restart) and read the claims from the token itself.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { parseClaims } from './claims.js';
import type { Admitter } from './types.js';

export interface JwksAdmissionOptions {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly timeoutMs: number;
  /** How soon an unknown kid may trigger another JWKS fetch (jose default 30 s). */
  readonly cooldownMs?: number;
  /** Injected key source (tests, dev issuer); default fetches jwksUrl. */
  readonly keySource?: JWTVerifyGetKey;
}

// Registered claims some issuers add that the strict relay schema does not list.
const IGNORED_JWT_CLAIMS = ['sub', 'typ'];

/** isKeySetOutage tells "could not get the keys" (503) apart from "the token is bad" (401). */
export function isKeySetOutage(err: unknown): boolean {
  // A key set that is not a valid JWKS is the issuer's fault, not the peer's.
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return true;
  if (err instanceof joseErrors.JOSEError) return err.code === 'ERR_JOSE_GENERIC';
  return true; // fetch TypeError and anything unexpected: not the peer's fault
}

/** createJwksAdmitter verifies signature, algorithm, iss, aud, exp and nbf, then the strict claims schema. */
export function createJwksAdmitter(options: JwksAdmissionOptions): Admitter {
  const keys =
    options.keySource ??
    createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: options.timeoutMs,
      ...(options.cooldownMs !== undefined ? { cooldownDuration: options.cooldownMs } : {}),
    });
  return async (req) => {
    try {
      const { payload } = await jwtVerify(req.token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...options.algorithms],
        requiredClaims: ['exp'],
      });
      const body: Record<string, unknown> = { ...payload };
      for (const k of IGNORED_JWT_CLAIMS) delete body[k];
      const claims = parseClaims(body);
      if (!claims.ok) return { ok: false, status: 401, reason: 'INVALID_CLAIMS' };
      return { ok: true, claims: claims.claims };
    } catch (err) {
      if (isKeySetOutage(err)) return { ok: false, status: 503, reason: 'JWKS_UNAVAILABLE' };
      const code = err instanceof joseErrors.JOSEError ? err.code : 'ERR_JWT_INVALID';
      return { ok: false, status: 401, reason: code.replace(/^ERR_/, 'JWT_') };
    }
  };
}
