// The server-mode bus's client for the platform's internal relay API, on the
// shared platform client: one keep-alive pool, a hard timeout, a response size
// cap, the internal key in a header and never in any error text, and the
// platform TLS options resolved per call, so rotated client certificates apply.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { postPlatformJson, type PlatformFailure, type PlatformTls } from '../platform/index.js';

/** PlatformCallError names why a platform call failed; stable values for logs and tests. */
export type PlatformCallError = 'timeout' | 'network' | 'http_status' | 'too_large' | 'bad_json' | 'not_ok';

export type PlatformCallResult =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; error: PlatformCallError; status?: number };

/** PlatformClient posts JSON to paths below the platform base URL. */
export interface PlatformClient {
  /** post sends one request; maxResponseBytes overrides the client's cap for this call. */
  post(path: string, body: unknown, timeoutMs: number, maxResponseBytes?: number): Promise<PlatformCallResult>;
  close(): void;
}

/** PlatformClientOptions configures createPlatformClient. */
export interface PlatformClientOptions {
  readonly baseUrl: string;
  readonly internalKey: string;
  readonly maxResponseBytes: number;
  /** TLS source for an https:// platform, asked on every call. */
  readonly tls?: PlatformTls | undefined;
}

// A request node refuses to send never reached the platform: counted as a network failure.
const CALL_ERRORS: Record<PlatformFailure, PlatformCallError> = {
  timeout: 'timeout',
  network: 'network',
  too_large: 'too_large',
  invalid_request: 'network',
};

/** createPlatformClient keeps one keep-alive agent; success needs a 2xx and `ok === true` (docs/protocol.md#server-backplane). */
export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  const base = new URL(options.baseUrl);
  // TLS options travel with each request; the agent pools connections per TLS identity.
  const agent = base.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });

  async function post(path: string, body: unknown, timeoutMs: number, maxResponseBytes = options.maxResponseBytes): Promise<PlatformCallResult> {
    const result = await postPlatformJson(new URL(path, base), body, {
      internalKey: options.internalKey,
      deadlineMs: timeoutMs,
      maxResponseBytes,
      tls: options.tls,
      agent,
    });
    if (!result.ok) {
      const error = CALL_ERRORS[result.failure];
      return error === 'too_large' ? { ok: false, error, status: result.status } : { ok: false, error };
    }
    const { status, json } = result;
    if (status < 200 || status > 299) return { ok: false, error: 'http_status', status };
    if (json === undefined) return { ok: false, error: 'bad_json', status };
    if (typeof json !== 'object' || json === null || (json as { ok?: unknown }).ok !== true) {
      return { ok: false, error: 'not_ok', status };
    }
    return { ok: true, body: json as Record<string, unknown> };
  }

  return { post, close: () => agent.destroy() };
}
