// One HTTP(S) exchange with the platform: an overall deadline, an optional
// inactivity timeout, a response-size cap (a declared Content-Length over it
// fails before any body is read) and the platform TLS options. Outcomes are
// values with a typed failure; nothing here throws, and no failure carries
// header values or URLs (they may hold secrets).
import { request as httpRequest, type Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { PlatformTlsOptions } from './tls.js';

/** PlatformFailure is why an exchange produced no complete answer. */
export type PlatformFailure = 'timeout' | 'network' | 'too_large' | 'invalid_request';

/** PlatformResponse is a complete answer of any status, or a failure (with the status when one arrived). */
export type PlatformResponse =
  | { readonly ok: true; readonly status: number | undefined; readonly headers: IncomingHttpHeaders; readonly body: Buffer }
  | { readonly ok: false; readonly failure: PlatformFailure; readonly status?: number | undefined };

/** PlatformRequest describes one exchange. */
export interface PlatformRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer | undefined;
  /** Bound on the whole exchange, response body included. */
  readonly deadlineMs: number;
  /** Fails when the socket is silent this long (a trickling server still meets the deadline). */
  readonly idleTimeoutMs?: number | undefined;
  readonly maxResponseBytes: number;
  /** Applied to https targets. */
  readonly tls?: PlatformTlsOptions | undefined;
  /** Connection pool; undefined is node's global agent, false a fresh connection. */
  readonly agent?: Agent | false | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** sendPlatformRequest performs one exchange; it never rejects. */
export function sendPlatformRequest(target: URL, request: PlatformRequest): Promise<PlatformResponse> {
  return new Promise((resolve) => {
    let settled = false;
    let outgoing: ClientRequest | undefined;
    const finish = (result: PlatformResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (!result.ok) outgoing?.destroy();
      resolve(result);
    };
    const fail = (failure: PlatformFailure, status?: number) => finish({ ok: false, failure, ...(status !== undefined ? { status } : {}) });
    const deadline = setTimeout(() => fail('timeout'), request.deadlineMs);
    const isHttps = target.protocol === 'https:';
    try {
      // Throws synchronously on header values node refuses (CR/LF, non-Latin-1).
      outgoing = (isHttps ? httpsRequest : httpRequest)(target, requestOptions(request, isHttps), (res) =>
        readResponse(res, request.maxResponseBytes, finish),
      );
    } catch {
      fail('invalid_request');
      return;
    }
    if (request.idleTimeoutMs !== undefined) outgoing.setTimeout(request.idleTimeoutMs, () => fail('timeout'));
    outgoing.on('error', () => fail('network'));
    outgoing.end(request.body);
  });
}

function requestOptions(request: PlatformRequest, isHttps: boolean): RequestOptions {
  const options: RequestOptions = { method: request.method, headers: request.headers };
  if (request.agent !== undefined) options.agent = request.agent;
  if (request.signal !== undefined) options.signal = request.signal;
  if (isHttps && request.tls) {
    const { ca, cert, key, passphrase, rejectUnauthorized } = request.tls;
    Object.assign(options, { ca, cert, key, passphrase, rejectUnauthorized: rejectUnauthorized ?? true });
  }
  return options;
}

function readResponse(res: IncomingMessage, maxBytes: number, finish: (result: PlatformResponse) => void): void {
  const status = res.statusCode;
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    finish({ ok: false, failure: 'too_large', status });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) finish({ ok: false, failure: 'too_large', status });
    else chunks.push(chunk);
  });
  res.on('end', () => finish({ ok: true, status, headers: res.headers, body: Buffer.concat(chunks) }));
  res.on('error', () => finish({ ok: false, failure: 'network' }));
  res.on('close', () => {
    if (!res.complete) finish({ ok: false, failure: 'network' });
  });
}
