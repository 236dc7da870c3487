// Worker forwarding (docs/protocol.md#worker-transport, docs/protocol.md#weak-worker-forward): one HTTP call to the platform per
// worker request, bounded in time and response size, using the platform TLS
// settings. Every outcome, including failures, is a ready-to-send reply frame;
// nothing here throws or logs request contents.
import type http from 'node:http';
import type { WorkerRequest } from '../frames/frame.js';
import { workerForwardFailed, workerResponse } from '../frames/outbound.js';
import { sendPlatformRequest, type PlatformFailure, type PlatformTlsOptions } from '../platform/index.js';
import { filterResponseHeaders, pickRequestHeaders } from './headers.js';

/** WorkerTlsOptions are the platform TLS settings (CA, mTLS client certificate, verification). */
export type WorkerTlsOptions = PlatformTlsOptions;

/** WorkerForwardOptions configures forwardWorkerRequest. */
export interface WorkerForwardOptions {
  /** Platform base URL; only its origin is used, the worker path replaces its path. */
  serverUrl: string;
  /** Deadline for the whole exchange, response body included. */
  timeoutMs: number;
  /** Largest response body accepted, in bytes. */
  maxResponseBytes: number;
  /**
   * Largest reply frame sent to the worker, in bytes (JSON escaping can grow
   * the body). Set it to what the worker's socket accepts, so a big response
   * becomes a 502 instead of a killed socket (docs/protocol.md#weak-worker-forward). Unset: no extra check.
   */
  maxFrameBytes?: number | undefined;
  /** Use this fetch instead of node:http; `tls` and `agent` are then ignored. */
  fetchImpl?: typeof fetch | undefined;
  /** Applied to https targets. */
  tls?: WorkerTlsOptions | undefined;
  /** Connection pool to reuse; by default each request opens its own connection. */
  agent?: http.Agent | undefined;
}

/** WorkerForwardFailure is the stable cause of a 502 reply, used as its `detail` and as a metric label. */
export type WorkerForwardFailure =
  | 'invalid_target'
  | 'invalid_request'
  | 'timeout'
  | 'response_too_large'
  | 'network_error';

/** WorkerForwardOutcome says whether the platform answered, plus the reply frame to send either way. */
export type WorkerForwardOutcome =
  | { ok: true; status: number; frame: string }
  | { ok: false; failure: WorkerForwardFailure; frame: string };

interface PlatformReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Exchange = PlatformReply | WorkerForwardFailure;

/**
 * forwardWorker sends one worker request to the platform and reports the
 * outcome. The caller has already authorised req.path (worker/path.ts).
 */
export async function forwardWorker(req: WorkerRequest, opts: WorkerForwardOptions): Promise<WorkerForwardOutcome> {
  const target = resolveTarget(req.path, opts.serverUrl);
  const result: Exchange =
    target === null
      ? 'invalid_target'
      : opts.fetchImpl
        ? await exchangeWithFetch(opts.fetchImpl, target, req, opts)
        : await exchangeWithHttp(target, req, opts);
  if (typeof result === 'string') return failed(req.requestId, result);
  const frame = workerResponse(req.requestId, result.status, result.headers, result.body);
  if (opts.maxFrameBytes !== undefined && Buffer.byteLength(frame) > opts.maxFrameBytes) {
    return failed(req.requestId, 'response_too_large');
  }
  return { ok: true, status: result.status, frame };
}

function failed(requestId: string, failure: WorkerForwardFailure): WorkerForwardOutcome {
  return { ok: false, failure, frame: workerForwardFailed(requestId, failure) };
}

/** forwardWorkerRequest is forwardWorker returning only the reply frame text. It never rejects. */
export async function forwardWorkerRequest(req: WorkerRequest, opts: WorkerForwardOptions): Promise<string> {
  return (await forwardWorker(req, opts)).frame;
}

// The target must stay on the platform's origin whatever the path says; the
// path check already refuses `//host` forms, this is the second fence.
function resolveTarget(path: string, serverUrl: string): URL | null {
  if (!URL.canParse(serverUrl) || !path.startsWith('/')) return null;
  const base = new URL(serverUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') return null;
  if (!URL.canParse(path, serverUrl)) return null;
  const target = new URL(path, base);
  return target.origin === base.origin ? target : null;
}

function requestBody(req: WorkerRequest): string | undefined {
  return req.method === 'GET' ? undefined : (req.body ?? '');
}

const WORKER_FAILURES: Record<PlatformFailure, WorkerForwardFailure> = {
  timeout: 'timeout',
  network: 'network_error',
  too_large: 'response_too_large',
  invalid_request: 'invalid_request',
};

async function exchangeWithHttp(target: URL, req: WorkerRequest, opts: WorkerForwardOptions): Promise<Exchange> {
  const body = requestBody(req);
  const headers = pickRequestHeaders(req.headers);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const result = await sendPlatformRequest(target, {
    method: req.method,
    headers,
    body,
    deadlineMs: opts.timeoutMs,
    maxResponseBytes: opts.maxResponseBytes,
    tls: opts.tls,
    agent: opts.agent ?? false,
  });
  if (!result.ok) return WORKER_FAILURES[result.failure];
  return {
    status: result.status ?? 502,
    headers: filterResponseHeaders(Object.entries(result.headers)),
    body: result.body.toString('utf8'),
  };
}

async function exchangeWithFetch(
  fetchImpl: typeof fetch,
  target: URL,
  req: WorkerRequest,
  opts: WorkerForwardOptions,
): Promise<Exchange> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, opts.timeoutMs);
  try {
    const res = await fetchImpl(target, {
      method: req.method,
      headers: pickRequestHeaders(req.headers),
      body: requestBody(req),
      redirect: 'manual',
      signal: abort.signal,
    });
    const body = await readCapped(res, opts.maxResponseBytes);
    if (body === null) {
      abort.abort();
      return 'response_too_large';
    }
    return { status: res.status, headers: filterResponseHeaders(res.headers.entries()), body };
  } catch (error) {
    // The error text may carry URL or header details, so only its kind is kept.
    return timedOut || abort.signal.aborted || isAbortError(error) ? 'timeout' : 'network_error';
  } finally {
    clearTimeout(timer);
  }
}

// Reads the body as UTF-8, or returns null as soon as it exceeds maxBytes.
async function readCapped(res: Response, maxBytes: number): Promise<string | null> {
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
