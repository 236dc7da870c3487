// The load generator, run as its own process and driven over IPC. It plays
// every daemon and client: connects them with platform tokens, sets up one
// session per client (kex init -> daemon kex response), then drives e2ee
// envelopes: clients send, daemons echo the bytes back, clients check them.
// Client frames are masked as a browser's are (ws masks client frames).
// It counts every anomaly; the harness fails a scenario on any of them.
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import { e2eeEnvelope, kexInit, kexResponse, SEQ_BASE, seqOffset, writeSeq } from './envelopes.js';
import { serveRpc } from './rpc.js';
import { type LatencySummary, summariseLatency } from './stats.js';
import { type Minter, type TokenKey, tokenMinter } from './tokens.js';

export type { TokenKey } from './tokens.js';

/** SetupArgs describes one population of daemons and clients with one session per client. */
export interface SetupArgs {
  daemonUrl: string;
  clientUrl: string;
  workspaces: number;
  clientsPerWorkspace: number;
}

/** LoadArgs starts traffic of `size`-byte envelopes: closed loop with `window` frames in flight per client, or `hz` frames/s per client. */
export type LoadArgs = { size: number } & ({ mode: 'closed'; window: number } | { mode: 'rate'; hz: number });

/** ErrorCounts are the anomalies that fail a scenario. */
export interface ErrorCounts {
  unexpectedClose: number;
  socketError: number;
  connectFailed: number;
  unexpectedFrame: number;
  lengthMismatch: number;
  lost: number;
  statusFrames: Record<string, number>;
  firstError: string;
}

/** Mark is a snapshot of the traffic counters and this process's CPU time. */
export interface Mark {
  atMs: number;
  cpuMs: number;
  framesToDaemon: number;
  framesToClient: number;
  bytesToDaemon: number;
  bytesToClient: number;
}

/** StopResult is what a traffic run leaves behind once drained. */
export interface StopResult {
  errors: ErrorCounts;
  latency: LatencySummary | null;
}

/** ConnectRateResult is the outcome of opening many connections as fast as admission allows. */
export interface ConnectRateResult {
  opened: number;
  elapsedMs: number;
  errors: ErrorCounts;
}

const E = 0x65; // 'e': byte 9 of '{"type":"e2ee"...', the only frame type on the hot path
const TYPE_AT = 9;
const EMPTY = Buffer.alloc(0);

interface Client {
  ws: WebSocket;
  requestId: string;
  sessionId: string;
  ready: boolean;
  frame: Buffer;
  seqAt: number;
  sent: number;
  received: number;
  sendTimes: number[];
  timer: NodeJS.Timeout | undefined;
  kexRetries: number;
}

let minter: Minter | undefined;
let runCounter = 0;
let daemons: WebSocket[] = [];
let clients: Client[] = [];
let frameSize = 0;
let running = false;
let closing = false;
let recording = false;
let loadMode: LoadArgs | undefined;
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
const counters = { framesToDaemon: 0, framesToClient: 0, bytesToDaemon: 0, bytesToClient: 0 };
let errors = freshErrors();

function freshErrors(): ErrorCounts {
  return { unexpectedClose: 0, socketError: 0, connectFailed: 0, unexpectedFrame: 0, lengthMismatch: 0, lost: 0, statusFrames: {}, firstError: '' };
}

function noteError(kind: Exclude<keyof ErrorCounts, 'statusFrames' | 'firstError'>, detail: string): void {
  errors[kind]++;
  if (!errors.firstError) errors.firstError = `${kind}: ${detail}`;
}

async function mint(claims: Record<string, unknown>): Promise<string> {
  if (!minter) throw new Error('init must run before tokens are minted');
  return minter(claims);
}

function claimsFor(role: 'workspace-daemon' | 'client', workspaceId: string, runtimeTargetId: string, clientId: string): Record<string, unknown> {
  return { role, workspaceId, runtimeTargetId, scope: 'runtime', clientId, e2eeProfile: 'noise-ik' };
}

function open(url: string, role: 'workspace-daemon' | 'client', workspaceId: string, runtimeTargetId: string, token: string): Promise<WebSocket> {
  const target = `${url}?role=${role}&workspaceId=${encodeURIComponent(workspaceId)}&runtimeTargetId=${encodeURIComponent(runtimeTargetId)}`;
  const ws = new WebSocket(target, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    skipUTF8Validation: true,
    maxPayload: 2 * 1024 * 1024,
    handshakeTimeout: 15000,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`${role} upgrade answered HTTP ${res.statusCode ?? '?'}`));
    });
    ws.once('error', (err) => reject(err));
    ws.on('close', (code, reason) => {
      if (!closing) noteError('unexpectedClose', `${role} ${workspaceId} closed ${code} ${reason.toString()}`);
    });
  });
}

/** inBatches runs tasks with at most `limit` in flight. */
async function inBatches<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}

function onDaemonMessage(ws: WebSocket, raw: RawData, isBinary: boolean): void {
  const data = raw as Buffer;
  if (data[TYPE_AT] === E) {
    counters.framesToDaemon++;
    counters.bytesToDaemon += data.length;
    ws.send(data, { binary: isBinary });
    return;
  }
  const frame = JSON.parse(data.toString('utf8')) as { type?: string; requestId?: string };
  if (frame.type === 'relay_key_exchange_init' && frame.requestId) {
    ws.send(kexResponse(frame.requestId, `s-${frame.requestId}`));
    return;
  }
  noteError('unexpectedFrame', `daemon got ${frame.type ?? 'untyped frame'}`);
}

function sendFrame(c: Client): void {
  c.sent++;
  if (loadMode?.mode === 'rate') c.sendTimes.push(performance.now());
  // ws copies a Buffer while masking it, so rewriting the seq for the next frame cannot touch this one.
  writeSeq(c.frame, c.seqAt, c.sent);
  c.ws.send(c.frame, { binary: false });
}

function onClientMessage(c: Client, raw: RawData, sessionReady: () => void): void {
  const data = raw as Buffer;
  if (data[TYPE_AT] === E) {
    c.received++;
    counters.framesToClient++;
    counters.bytesToClient += data.length;
    if (data.length !== frameSize) noteError('lengthMismatch', `got ${data.length} bytes, sent ${frameSize}`);
    if (c.received > c.sent) noteError('unexpectedFrame', `${c.requestId} got echo ${c.received} of ${c.sent} sent (duplicate)`);
    if (loadMode?.mode === 'rate') {
      const sentAt = c.sendTimes.shift();
      if (recording && sentAt !== undefined) recordLatency(performance.now() - sentAt);
    } else if (running) {
      sendFrame(c);
    }
    return;
  }
  const frame = JSON.parse(data.toString('utf8')) as { type?: string; sessionId?: string; code?: string };
  if (frame.type === 'relay_key_exchange_response' && frame.sessionId === c.sessionId && !c.ready) {
    c.ready = true;
    sessionReady();
    return;
  }
  // Until its session exists a client may race its daemon's presence (cross-relay); retry the kex, not an error.
  if (frame.type === 'relay_status' && frame.code === 'DAEMON_UNAVAILABLE' && !c.ready && c.kexRetries++ < 100) {
    setTimeout(() => c.ws.send(kexInit(c.requestId)), 50);
    return;
  }
  const code = frame.type === 'relay_status' ? (frame.code ?? 'unknown') : (frame.type ?? 'untyped');
  errors.statusFrames[code] = (errors.statusFrames[code] ?? 0) + 1;
  noteError('unexpectedFrame', `client got ${code}`);
}

function recordLatency(ms: number): void {
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = ms;
}

async function setup(args: SetupArgs): Promise<{ setupMs: number; connections: number }> {
  if (daemons.length || clients.length) throw new Error('setup called twice without teardown');
  const started = performance.now();
  const run = `r${process.pid}-${++runCounter}`;
  errors = freshErrors();
  closing = false;
  const wsIds = Array.from({ length: args.workspaces }, (_, i) => `bw-${run}-${i}`);
  const daemonTokens = await Promise.all(wsIds.map((w) => mint(claimsFor('workspace-daemon', w, 'rt-1', `daemon-${w}`))));
  const clientSpecs = wsIds.flatMap((w) => Array.from({ length: args.clientsPerWorkspace }, (_, j) => ({ w, clientId: `c-${w}-${j}` })));
  const clientTokens = await Promise.all(clientSpecs.map((s) => mint(claimsFor('client', s.w, 'rt-1', s.clientId))));

  daemons = await inBatches(wsIds.length, 64, async (i) => {
    const ws = await open(args.daemonUrl, 'workspace-daemon', wsIds[i]!, 'rt-1', daemonTokens[i]!);
    ws.on('message', (raw, isBinary) => onDaemonMessage(ws, raw, isBinary));
    ws.on('error', (err) => noteError('socketError', `daemon: ${err.message}`));
    return ws;
  });
  clients = await inBatches(clientSpecs.length, 64, async (i) => {
    const spec = clientSpecs[i]!;
    const ws = await open(args.clientUrl, 'client', spec.w, 'rt-1', clientTokens[i]!);
    const c: Client = { ws, requestId: spec.clientId, sessionId: `s-${spec.clientId}`, ready: false, frame: EMPTY, seqAt: 0, sent: 0, received: 0, sendTimes: [], timer: undefined, kexRetries: 0 };
    ws.on('error', (err) => noteError('socketError', `client: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no session for ${spec.clientId} within 15 s (${errors.firstError || 'no error seen'})`)), 15000);
      ws.on('message', (raw) => onClientMessage(c, raw, () => {
        clearTimeout(deadline);
        resolve();
      }));
      ws.send(kexInit(c.requestId));
    });
    return c;
  });
  return { setupMs: performance.now() - started, connections: daemons.length + clients.length };
}

function load(args: LoadArgs): { started: number } {
  if (running) throw new Error('load is already running');
  running = true;
  loadMode = args;
  frameSize = args.size;
  for (const c of clients) {
    c.frame = Buffer.from(e2eeEnvelope(c.sessionId, SEQ_BASE, args.size));
    c.seqAt = seqOffset(c.frame);
    c.sent = 0;
    c.received = 0;
    c.sendTimes.length = 0;
  }
  for (const c of clients) {
    if (args.mode === 'closed') {
      for (let i = 0; i < args.window; i++) sendFrame(c);
    } else {
      const period = 1000 / args.hz;
      // Random phases spread the clients over the period instead of bursting together.
      c.timer = setTimeout(() => {
        sendFrame(c);
        c.timer = setInterval(() => sendFrame(c), period);
      }, Math.random() * period);
    }
  }
  return { started: clients.length };
}

function mark(args: { record: boolean }): Mark {
  recording = args.record;
  const cpu = process.cpuUsage();
  return { atMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, ...counters };
}

async function stop(): Promise<StopResult> {
  running = false;
  recording = false;
  for (const c of clients) {
    clearTimeout(c.timer);
    clearInterval(c.timer);
  }
  // A slow server is not a lossy one: keep waiting while echoes still arrive
  // (up to a minute), and call the rest lost only after 5 s without progress.
  const hardUntil = performance.now() + 60_000;
  let lastProgress = performance.now();
  let lastTotal = -1;
  while (clients.some((c) => c.received < c.sent)) {
    const now = performance.now();
    const total = counters.framesToClient;
    if (total !== lastTotal) {
      lastTotal = total;
      lastProgress = now;
    }
    if (now - lastProgress > 5000 || now > hardUntil) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const c of clients) {
    const missing = c.sent - c.received;
    if (missing <= 0) continue;
    errors.lost += missing;
    if (!errors.firstError) errors.firstError = `lost: ${c.requestId} got ${c.received} of ${c.sent} echoes`;
  }
  const latency = latencyCount ? summariseLatency(latencies.subarray(0, latencyCount)) : null;
  latencyCount = 0;
  loadMode = undefined;
  return { errors, latency };
}

async function teardown(): Promise<ErrorCounts> {
  closing = true;
  const all = [...clients.map((c) => c.ws), ...daemons];
  await Promise.all(
    all.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 5000);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1000, 'bench done');
        }),
    ),
  );
  clients = [];
  daemons = [];
  return errors;
}

async function connectRate(args: { url: string; count: number; concurrency: number }): Promise<ConnectRateResult> {
  const run = `cr${process.pid}-${++runCounter}`;
  errors = freshErrors();
  closing = false;
  const specs = Array.from({ length: args.count }, (_, i) => ({ w: `${run}-${i % Math.ceil(args.count / 20)}`, clientId: `c-${run}-${i}` }));
  const tokens = await Promise.all(specs.map((s) => mint(claimsFor('client', s.w, 'rt-1', s.clientId))));
  const opened: WebSocket[] = [];
  const started = performance.now();
  await inBatches(specs.length, args.concurrency, async (i) => {
    try {
      const ws = await open(args.url, 'client', specs[i]!.w, 'rt-1', tokens[i]!);
      ws.on('error', (err) => noteError('socketError', `client: ${err.message}`));
      opened.push(ws);
    } catch (err) {
      noteError('connectFailed', err instanceof Error ? err.message : String(err));
    }
  });
  const elapsedMs = performance.now() - started;
  clients = [];
  daemons = opened;
  await teardown();
  return { opened: opened.length, elapsedMs, errors };
}

serveRpc(
  {
    init: async (args: TokenKey) => {
      minter = await tokenMinter(args);
      return { ok: true };
    },
    setup,
    load,
    mark,
    stop,
    teardown,
    connectRate,
  },
  { pid: process.pid },
);
