// A small JSON-over-HTTP(S) client for the platform's internal relay API:
// one POST, a hard timeout, a response size cap, the internal key in a header
// and never in any error text.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { BackplaneTlsOptions } from './backplane.js';

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
  readonly tls?: BackplaneTlsOptions | undefined;
}

/** createPlatformClient keeps one keep-alive agent; success needs a 2xx and `ok === true` (spec §7.5). */
export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  const base = new URL(options.baseUrl);
  const isHttps = base.protocol === 'https:';
  const agent = isHttps
    ? new HttpsAgent({
        keepAlive: true,
        ca: options.tls?.ca,
        cert: options.tls?.cert,
        key: options.tls?.key,
        passphrase: options.tls?.passphrase,
        rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
        servername: options.tls?.servername,
      })
    : new HttpAgent({ keepAlive: true });
  const send = isHttps ? httpsRequest : httpRequest;

  function post(path: string, body: unknown, timeoutMs: number, maxResponseBytes = options.maxResponseBytes): Promise<PlatformCallResult> {
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const url = new URL(path, base);
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PlatformCallResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const req = send(url, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          'x-relay-internal-key': options.internalKey,
        },
      });
      const timer = setTimeout(() => {
        finish({ ok: false, error: 'timeout' });
        req.destroy();
      }, timeoutMs);
      req.on('error', () => finish({ ok: false, error: 'network' }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            finish({ ok: false, error: 'too_large', status: res.statusCode });
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', () => finish({ ok: false, error: 'network' }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return finish({ ok: false, error: 'http_status', status });
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return finish({ ok: false, error: 'bad_json', status });
          }
          if (typeof parsed !== 'object' || parsed === null || (parsed as { ok?: unknown }).ok !== true) {
            return finish({ ok: false, error: 'not_ok', status });
          }
          finish({ ok: true, body: parsed as Record<string, unknown> });
        });
      });
      req.end(payload);
    });
  }

  return { post, close: () => agent.destroy() };
}
