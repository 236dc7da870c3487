import type { Claims, Role } from './claims.js';

/** AdmissionRequest is what the relay knows about a peer before the 101. */
export interface AdmissionRequest {
  readonly token: string;
  readonly role: Role;
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
}

/**
 * AdmissionResult: admitted with claims, or refused with the HTTP status to
 * answer: 401 denial, 403 valid token for another role, 503 platform/JWKS outage.
 */
export type AdmissionResult =
  | { ok: true; claims: Claims }
  | { ok: false; status: 401 | 403 | 503; reason: string };

/** Admitter decides one upgrade; it never throws and honours the signal's deadline. */
export type Admitter = (request: AdmissionRequest, signal?: AbortSignal) => Promise<AdmissionResult>;
