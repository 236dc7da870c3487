// The admission pipeline chosen by RELAY_ADMISSION_MODE, plus the checks that
// hold for every mode: a token for another role is refused with 403.
import type { AdmissionConfig, PlatformConfig } from '../config/index.js';
import { createPlatformTls } from '../platform/index.js';
import { createJwksAdmitter, type JwksAdmissionOptions } from './jwks.js';
import { createRemoteAdmitter } from './remote.js';
import type { Admitter } from './types.js';

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
  return async (req, signal) => {
    const result = await inner(req, signal);
    if (result.ok && result.claims.role !== undefined && result.claims.role !== req.role) {
      return { ok: false, status: 403, reason: 'ROLE_NOT_ALLOWED' };
    }
    return result;
  };
}
