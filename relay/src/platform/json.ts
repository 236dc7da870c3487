// JSON POSTs to the platform's internal API: the body as JSON, the internal
// key in its header (never in any outcome), TLS options resolved per call so
// rotated client certificates apply, and the answer parsed as JSON.
import type { Agent } from 'node:http';
import { sendPlatformRequest, type PlatformFailure } from './http.js';
import type { PlatformTls } from './tls.js';

/** PlatformJsonResult: an answer of any status (json undefined when the body is not JSON), or a failure. */
export type PlatformJsonResult =
  | { readonly ok: true; readonly status: number; readonly json: unknown }
  | { readonly ok: false; readonly failure: PlatformFailure; readonly status?: number | undefined };

/** PlatformJsonOptions configures one postPlatformJson call. */
export interface PlatformJsonOptions {
  /** Sent as x-relay-internal-key when set and not empty. */
  readonly internalKey?: string | undefined;
  readonly deadlineMs: number;
  readonly idleTimeoutMs?: number | undefined;
  readonly maxResponseBytes: number;
  readonly tls?: PlatformTls | undefined;
  readonly agent?: Agent | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** postPlatformJson sends body as JSON to target; it never rejects. */
export async function postPlatformJson(target: URL, body: unknown, options: PlatformJsonOptions): Promise<PlatformJsonResult> {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(payload.length) };
  if (options.internalKey) headers['x-relay-internal-key'] = options.internalKey;
  const result = await sendPlatformRequest(target, {
    method: 'POST',
    headers,
    body: payload,
    deadlineMs: options.deadlineMs,
    idleTimeoutMs: options.idleTimeoutMs,
    maxResponseBytes: options.maxResponseBytes,
    tls: target.protocol === 'https:' ? options.tls?.(target.hostname) : undefined,
    agent: options.agent,
    signal: options.signal,
  });
  if (!result.ok) return result;
  let json: unknown;
  try {
    json = JSON.parse(result.body.toString('utf8')) as unknown;
  } catch {
    json = undefined; // the caller decides: an error page on a 4xx is still a denial
  }
  return { ok: true, status: result.status ?? 0, json };
}
