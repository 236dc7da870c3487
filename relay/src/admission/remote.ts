// Remote admission (docs/protocol.md#admission-validate): the platform's validate endpoint decides.
import { postPlatformJson, type PlatformFailure, type PlatformTls } from '../platform/index.js';
import { parseClaims } from './claims.js';
import type { Admitter } from './types.js';

export interface RemoteAdmissionOptions {
  readonly validateUrl: string;
  readonly internalKey?: string | undefined;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly tls?: PlatformTls;
}

function bodyReason(json: unknown): string {
  if (json && typeof json === 'object') {
    const { reason, error } = json as { reason?: unknown; error?: unknown };
    if (typeof reason === 'string' && reason !== '') return reason.slice(0, 64);
    if (typeof error === 'string' && error !== '') return error.slice(0, 64);
  }
  return 'VALIDATION_FAILED';
}

// Why the platform gave no answer, as an admission reason. A request node
// refuses to send never reached the platform: a network failure, like a refused connection.
const OUTAGE_REASONS: Record<PlatformFailure, string> = {
  timeout: 'PLATFORM_TIMEOUT',
  network: 'PLATFORM_NETWORK_ERROR',
  too_large: 'ADMISSION_RESPONSE_TOO_LARGE',
  invalid_request: 'PLATFORM_NETWORK_ERROR',
};

/**
 * createRemoteAdmitter POSTs {relayToken, role, workspaceId, runtimeTargetId?}.
 * Outages (network, timeout, 5xx, oversize or non-JSON 2xx) → 503; a 403 from
 * the platform → 403; any other refusal or bad claims → 401. The call has an
 * inactivity timeout of timeoutMs and an overall deadline of twice that.
 */
export function createRemoteAdmitter(options: RemoteAdmissionOptions): Admitter {
  const target = new URL(options.validateUrl);
  return async (req, signal) => {
    const result = await postPlatformJson(
      target,
      {
        relayToken: req.token,
        role: req.role,
        workspaceId: req.workspaceId,
        ...(req.runtimeTargetId !== undefined ? { runtimeTargetId: req.runtimeTargetId } : {}),
      },
      {
        internalKey: options.internalKey,
        deadlineMs: options.timeoutMs * 2,
        idleTimeoutMs: options.timeoutMs,
        maxResponseBytes: options.maxResponseBytes,
        tls: options.tls,
        signal,
      },
    );
    if (!result.ok) return { ok: false, status: 503, reason: OUTAGE_REASONS[result.failure] };
    const { status, json } = result;
    if (status >= 500 || status === 429) return { ok: false, status: 503, reason: `PLATFORM_HTTP_${status}` };
    if (status < 200 || status >= 300) return { ok: false, status: status === 403 ? 403 : 401, reason: bodyReason(json) };
    if (json === undefined) return { ok: false, status: 503, reason: 'INVALID_JSON' };
    if (!json || typeof json !== 'object' || (json as { ok?: unknown }).ok !== true) {
      return { ok: false, status: 401, reason: bodyReason(json) };
    }
    const claims = parseClaims((json as { claims?: unknown }).claims);
    if (!claims.ok) return { ok: false, status: 401, reason: 'INVALID_CLAIMS' };
    return { ok: true, claims: claims.claims };
  };
}
