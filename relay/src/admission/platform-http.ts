// A small JSON POST client for the platform's internal API: per-request
// inactivity timeout, overall deadline, response-size cap, and the platform TLS
// settings of spec §3.1 (verify auto/0/1, CA, mTLS client cert re-read when the
// files change). Outcomes are values; nothing here throws.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import { isLocalHost, type PlatformConfig } from '../config/index.js';

/** PlatformTls yields the TLS options for a host, re-reading cert files whose mtime changed. */
export type PlatformTls = (host: string) => PlatformTlsOptions;

/** PlatformTlsOptions are the TLS options of one platform call. */
export interface PlatformTlsOptions {
  readonly rejectUnauthorized: boolean;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly passphrase?: string | undefined;
}

/** createPlatformTls builds the TLS option source from the platform section of the config. */
export function createPlatformTls(platform: PlatformConfig): PlatformTls {
  const cache = new Map<string, { mtimeMs: number; data: Buffer }>();
  const read = (path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      const { mtimeMs } = statSync(path);
      const hit = cache.get(path);
      if (hit && hit.mtimeMs === mtimeMs) return hit.data;
      const data = readFileSync(path);
      cache.set(path, { mtimeMs, data });
      return data;
    } catch {
      // A vanished file keeps the last good copy, so a rotation in progress does not break admission.
      return cache.get(path)?.data;
    }
  };
  return (host) => {
    const verify = platform.tlsVerify === '1' || (platform.tlsVerify === 'auto' && !isLocalHost(host));
    return {
      rejectUnauthorized: verify,
      ca: read(platform.caCertPath),
      ...(platform.mtls
        ? { cert: read(platform.clientCertPath), key: read(platform.clientKeyPath), passphrase: platform.clientKeyPassphrase }
        : {}),
    };
  };
}

export type PostFailure = 'TIMEOUT' | 'NETWORK_ERROR' | 'RESPONSE_TOO_LARGE';
export type PostResult = { ok: true; status: number; json: unknown } | { ok: false; failure: PostFailure; detail: string };

export interface PostOptions {
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  readonly tls?: PlatformTls;
  readonly signal?: AbortSignal;
}

/** postJson sends body as JSON and reads the answer within the time and size limits; json is undefined when the body is not JSON. */
export function postJson(url: string, body: unknown, options: PostOptions): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const target = new URL(url);
    const payload = Buffer.from(JSON.stringify(body));
    const isHttps = target.protocol === 'https:';
    const req = (isHttps ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(payload.length), ...options.headers },
      ...(isHttps && options.tls ? options.tls(target.hostname) : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // The inactivity timeout alone lets a trickling server hold us forever; the deadline bounds the total.
    const deadline = setTimeout(() => {
      req.destroy();
      finish({ ok: false, failure: 'TIMEOUT', detail: 'deadline exceeded' });
    }, options.timeoutMs * 2);
    req.setTimeout(options.timeoutMs, () => {
      req.destroy();
      finish({ ok: false, failure: 'TIMEOUT', detail: 'inactivity timeout' });
    });
    req.on('error', (err) => finish({ ok: false, failure: 'NETWORK_ERROR', detail: err.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxResponseBytes) {
          res.destroy();
          req.destroy();
          finish({ ok: false, failure: 'RESPONSE_TOO_LARGE', detail: `over ${options.maxResponseBytes} bytes` });
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => finish({ ok: false, failure: 'NETWORK_ERROR', detail: err.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text) as unknown;
        } catch {
          json = undefined; // the caller decides: an error page on a 4xx is still a denial
        }
        finish({ ok: true, status: res.statusCode ?? 0, json });
      });
    });
    req.end(payload);
  });
}
