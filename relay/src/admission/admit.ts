// The admission pipeline chosen by RELAY_ADMISSION_MODE, plus the checks that
// hold for every mode: a token without a `role` claim is refused with 401 (it
// names no role, so it must not be admitted as whichever role the query asks
// for), a token for another role with 403.
import type { AdmissionConfig, PlatformConfig } from '../config/index.js';
import { createPlatformTls } from '../platform/index.js';
import { createJwksAdmitter, type JwksAdmissionOptions } from './jwks.js';
import { createRemoteAdmitter } from './remote.js';
import type { Role } from './claims.js';
import type { AdmissionResult, Admitter } from './types.js';

export type { Admitter, AdmissionRequest, AdmissionResult } from './types.js';

/** AdmitterOverrides let tests and dev mode inject a key source or a shorter JWKS cool-down. */
export type AdmitterOverrides = Partial<Pick<JwksAdmissionOptions, 'keySource' | 'cooldownMs'>>;

/** AdmitterSettings are the option groups admission reads: its own and the platform link's. */
export interface AdmitterSettings {
  readonly admission: AdmissionConfig;
  readonly platform: PlatformConfig;
}

/**
 * createAdmitter builds the mode's admitter. In jwks+remote the local check
 * runs first, so bad tokens never reach the platform; the platform's claims win.
 */
export function createAdmitter(config: AdmitterSettings, overrides: AdmitterOverrides = {}): Admitter {
  const remote = () =>
    createRemoteAdmitter({
      validateUrl: config.admission.validateUrl,
      internalKey: config.platform.internalKey,
      timeoutMs: config.platform.admissionTimeoutMs,
      maxResponseBytes: config.platform.admissionMaxResponseBytes,
      tls: createPlatformTls(config.platform),
    });
  const jwks = () =>
    createJwksAdmitter({
      jwksUrl: config.admission.jwksUrl ?? '',
      issuer: config.admission.jwtIssuer,
      audience: config.admission.jwtAudience,
      algorithms: config.admission.jwtAlgorithms,
      timeoutMs: config.platform.admissionTimeoutMs,
      ...overrides,
    });
  let inner: Admitter;
  switch (config.admission.mode) {
    case 'remote':
      inner = remote();
      break;
    case 'jwks':
      inner = jwks();
      break;
    case 'jwks+remote': {
      const local = jwks();
      const platform = remote();
      inner = async (req, signal) => {
        const first = await local(req, signal);
        return first.ok ? platform(req, signal) : first;
      };
      break;
    }
  }
  return async (req, signal) => checkRoleClaim(await inner(req, signal), req.role);
}

/** checkRoleClaim: docs/protocol.md#claims, `role` is required and must be the query's role. */
export function checkRoleClaim(result: AdmissionResult, role: Role): AdmissionResult {
  if (!result.ok) return result;
  if (result.claims.role === undefined) return { ok: false, status: 401, reason: 'MISSING_ROLE_CLAIM' };
  if (result.claims.role !== role) return { ok: false, status: 403, reason: 'ROLE_NOT_ALLOWED' };
  return result;
}
