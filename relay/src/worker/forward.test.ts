// forwardWorker against real servers on 127.0.0.1: the fake platform for the
// plain HTTP cases, small purpose-built servers for chunked bodies and TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePlatform, type FakePlatform } from '../../test/fake-platform.js';
import type { WorkerRequest } from '../frames/frame.js';
import { forwardWorker, forwardWorkerRequest, type WorkerForwardOptions } from './forward.js';

const PATH = '/api/runtime/workspaces/ws_1/managed-executors/ex_1/claim';

function request(overrides: Partial<WorkerRequest> = {}): WorkerRequest {
  return { requestId: 'req-1', method: 'POST', path: PATH, body: '{"a":1}', ...overrides };
}

interface ReplyFrame {
  type: string;
  requestId: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

function reply(text: string): ReplyFrame {
  return JSON.parse(text) as ReplyFrame;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return String((server.address() as AddressInfo).port);
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe.each([
  ['node:http', undefined],
  ['fetchImpl', globalThis.fetch],
])('forwardWorker via %s', (_transport, fetchImpl) => {
  let platform: FakePlatform;
  let opts: WorkerForwardOptions;

  beforeAll(async () => {
    platform = await startFakePlatform();
    // serverUrl carries a path on purpose: only its origin may be used.
    opts = { serverUrl: `${platform.url}/ignored/base/`, timeoutMs: 2_000, maxResponseBytes: 4_096, maxFrameBytes: 16_384, fetchImpl };
  });
  afterAll(async () => {
    await platform.close();
  });

  it('forwards allow-listed string headers and the body, and returns status, filtered headers and body', async () => {
    platform.route('POST', PATH, () => ({
      status: 201,
      headers: { 'X-Trace': 't-1', 'Set-Cookie': 'sid=1', Authorization: 'Bearer leak', 'Cookie': 'c=1' },
      body: { ok: true, run: 'r-1' },
    }));
    const before = platform.requests.length;
    const outcome = await forwardWorker(
      request({
        headers: {
          Authorization: 'Bearer worker-token',
          'CONTENT-TYPE': 'application/json',
          'x-viewport-worker-signature': 'sig',
          'x-viewport-run-lease': 'lease',
          accept: 'application/json',
          cookie: 'stolen=1',
          host: 'evil.test',
          'x-forwarded-for': '1.2.3.4',
          'x-viewport-worker-nonce': 42,
          'x-viewport-server-id': ['a'],
        },
      }),
      opts,
    );
    expect(outcome).toMatchObject({ ok: true, status: 201 });
    const seen = platform.requests[before];
    expect(seen?.path).toBe(PATH);
    expect(seen?.body).toBe('{"a":1}');
    expect(seen?.headers).toMatchObject({
      authorization: 'Bearer worker-token',
      'content-type': 'application/json',
      'x-viewport-worker-signature': 'sig',
      'x-viewport-run-lease': 'lease',
      accept: 'application/json',
    });
    expect(seen?.headers.cookie).toBeUndefined();
    expect(seen?.headers['x-forwarded-for']).toBeUndefined();
    expect(seen?.headers['x-viewport-worker-nonce']).toBeUndefined();
    expect(seen?.headers['x-viewport-server-id']).toBeUndefined();
    expect(seen?.headers.host).toBe(new URL(platform.url).host);

    const frame = reply(outcome.frame);
    expect(frame).toMatchObject({ type: 'viewport.worker_transport.response/v1', requestId: 'req-1', status: 201 });
    expect(JSON.parse(frame.body)).toEqual({ ok: true, run: 'r-1' });
    expect(frame.headers['x-trace']).toBe('t-1');
    expect(frame.headers['content-type']).toBe('application/json');
    expect(frame.headers).not.toHaveProperty('set-cookie');
    expect(frame.headers).not.toHaveProperty('authorization');
    expect(frame.headers).not.toHaveProperty('cookie');
  });

  it.each([
    ['GET sends no body even when one is given', 'GET' as const, 'ignored', undefined, ''],
    ['PATCH without a body sends an empty one', 'PATCH' as const, undefined, '0', ''],
    ['POST with a body sends it', 'POST' as const, 'héllo', String(Buffer.byteLength('héllo')), 'héllo'],
  ])('%s', async (_name, method, body, contentLength, received) => {
    platform.route(method, PATH, () => ({ status: 200, body: {} }));
    const before = platform.requests.length;
    const outcome = await forwardWorker(request({ method, body }), opts);
    expect(outcome.ok).toBe(true);
    const seen = platform.requests[before];
    expect(seen?.method).toBe(method);
    expect(seen?.body).toBe(received);
    expect(seen?.headers['content-length']).toBe(contentLength);
    if (method === 'GET') expect(seen?.headers['transfer-encoding']).toBeUndefined();
  });

  it('passes platform errors through unchanged', async () => {
    platform.route('POST', PATH, () => ({ status: 409, headers: { 'content-type': 'text/plain' }, body: 'lease conflict' }));
    const frame = reply(await forwardWorkerRequest(request(), opts));
    expect(frame).toMatchObject({ status: 409, body: 'lease conflict', headers: { 'content-type': 'text/plain' } });
  });

  it('does not follow redirects', async () => {
    platform.route('POST', PATH, () => ({ status: 302, headers: { location: 'http://evil.test/' }, body: '' }));
    const frame = reply(await forwardWorkerRequest(request(), opts));
    expect(frame.status).toBe(302);
    expect(frame.headers.location).toBe('http://evil.test/');
  });

  it.each([
    ['a timeout', { delayMs: 1_500 }, { timeoutMs: 100 }, 'timeout'],
    ['an oversize response', { body: 'x'.repeat(10_000) }, { maxResponseBytes: 1_000 }, 'response_too_large'],
    [
      'an oversize content-length',
      { body: 'x'.repeat(10_000), headers: { 'content-length': '10000' } },
      { maxResponseBytes: 1_000 },
      'response_too_large',
    ],
    ['a dropped connection', { destroy: true }, {}, 'network_error'],
    [
      'a body within the cap whose escaped reply frame is too big for the worker socket',
      { body: '\n'.repeat(1_000) },
      { maxResponseBytes: 2_000, maxFrameBytes: 1_500 },
      'response_too_large',
    ],
  ])('answers 502 WORKER_TRANSPORT_FORWARD_FAILED on %s', async (_name, answer, extra, failure) => {
    platform.route('POST', PATH, () => ({ status: 200, ...answer }));
    const outcome = await forwardWorker(request(), { ...opts, ...extra });
    expect(outcome).toMatchObject({ ok: false, failure });
    const frame = reply(outcome.frame);
    expect(frame).toMatchObject({ requestId: 'req-1', status: 502, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(frame.body)).toEqual({ ok: false, reason: 'WORKER_TRANSPORT_FORWARD_FAILED', detail: failure });
  });

  it.each([
    ['an unparsable server URL', { serverUrl: 'not a url' }, PATH],
    ['a non-HTTP server URL', { serverUrl: 'ftp://127.0.0.1/' }, PATH],
    ['a path that would change the host', {}, '//evil.test/api/runtime/workspaces/x'],
  ])('answers 502 invalid_target for %s, without any request', async (_name, extra, path) => {
    const before = platform.requests.length;
    const outcome = await forwardWorker(request({ path }), { ...opts, ...extra });
    expect(outcome).toMatchObject({ ok: false, failure: 'invalid_target' });
    expect(platform.requests.length).toBe(before);
  });
});

describe('forwardWorker (node:http specifics)', () => {
  it('answers 502 invalid_request for a header value node refuses, without throwing', async () => {
    const platform = await startFakePlatform();
    try {
      const outcome = await forwardWorker(request({ headers: { authorization: 'Bearer a\r\nX-Evil: 1' } }), {
        serverUrl: platform.url,
        timeoutMs: 1_000,
        maxResponseBytes: 1_000,
      });
      expect(outcome).toMatchObject({ ok: false, failure: 'invalid_request' });
      expect(platform.requests).toHaveLength(0);
    } finally {
      await platform.close();
    }
  });

  it('answers 502 network_error when nothing listens', async () => {
    const server = http.createServer();
    const port = await listen(server);
    await close(server);
    const outcome = await forwardWorker(request(), { serverUrl: `http://127.0.0.1:${port}`, timeoutMs: 1_000, maxResponseBytes: 1_000 });
    expect(outcome).toMatchObject({ ok: false, failure: 'network_error' });
  });

  it.each([
    ['node:http', undefined],
    ['fetchImpl', globalThis.fetch],
  ])('stops reading a chunked response once it passes the cap (%s)', async (_name, fetchImpl) => {
    let stopped!: () => void;
    const aborted = new Promise<void>((resolve) => (stopped = resolve));
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no content-length: chunked
      const timer = setInterval(() => res.write('x'.repeat(512)), 5);
      res.on('close', () => {
        clearInterval(timer);
        stopped();
      });
    });
    const port = await listen(server);
    try {
      const outcome = await forwardWorker(request(), {
        serverUrl: `http://127.0.0.1:${port}`,
        timeoutMs: 10_000,
        maxResponseBytes: 4_096,
        fetchImpl,
      });
      expect(outcome).toMatchObject({ ok: false, failure: 'response_too_large' });
      await aborted; // the relay hung up instead of draining the stream
    } finally {
      await close(server);
    }
  });
});

describe('forwardWorker over TLS', () => {
  let dir: string;
  let serverCert: string;
  let serverKey: string;
  let clientCert: string;
  let clientKey: string;

  function selfSigned(name: string, cn: string, san: string, passphrase?: string): void {
    const keyArgs = passphrase ? ['-passout', `pass:${passphrase}`] : ['-noenc'];
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', ...keyArgs,
      '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
      '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
    ], { stdio: 'ignore' });
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-worker-tls-'));
    selfSigned('server', '127.0.0.1', 'IP:127.0.0.1');
    selfSigned('client', 'relay', 'DNS:relay', 'client-pass');
    serverCert = readFileSync(join(dir, 'server.crt'), 'utf8');
    serverKey = readFileSync(join(dir, 'server.key'), 'utf8');
    clientCert = readFileSync(join(dir, 'client.crt'), 'utf8');
    clientKey = readFileSync(join(dir, 'client.key'), 'utf8');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function withTlsServer(mutual: boolean, run: (url: string) => Promise<void>): Promise<void> {
    const server = https.createServer(
      { key: serverKey, cert: serverCert, requestCert: mutual, rejectUnauthorized: mutual, ca: mutual ? clientCert : undefined },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      },
    );
    const port = await listen(server);
    try {
      await run(`https://127.0.0.1:${port}`);
    } finally {
      await close(server);
    }
  }

  it.each([
    ['trusts the platform CA it is given', false, () => ({ ca: serverCert }), true],
    ['refuses an unknown server certificate by default', false, () => ({}), false],
    ['skips verification only when told to', false, () => ({ rejectUnauthorized: false }), true],
    ['presents the mTLS client certificate (encrypted key)', true, () => ({ ca: serverCert, cert: clientCert, key: clientKey, passphrase: 'client-pass' }), true],
    ['is refused by an mTLS platform without a client certificate', true, () => ({ ca: serverCert }), false],
  ])('%s', async (_name, mutual, tls, succeeds) => {
    await withTlsServer(mutual, async (serverUrl) => {
      const outcome = await forwardWorker(request(), { serverUrl, timeoutMs: 5_000, maxResponseBytes: 1_000, tls: tls() });
      if (succeeds) {
        expect(outcome).toMatchObject({ ok: true, status: 200 });
        expect(reply(outcome.frame).body).toBe('{"ok":true}');
      } else {
        expect(outcome).toMatchObject({ ok: false, failure: 'network_error' });
      }
    });
  });
});
