// Test harness: a real relay on 127.0.0.1:0 behind a real HTTP server, and
// real `ws` peers with a message queue to await on (no sleeps).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { parseConfig, type Config } from '../src/config/index.js';
import { createLogger, type Logger } from '../src/admin/log.js';
import { createRelay, type Relay, type RelayDeps } from '../src/server/relay.js';

export interface TestRelay {
  readonly relay: Relay;
  readonly config: Config;
  readonly server: Server;
  readonly port: number;
  /** ws://127.0.0.1:port/ws */
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly logLines: string[];
  close(): Promise<void>;
}

/** BASE_TEST_ENV is a quiet dev relay on an ephemeral port; tests add what they exercise. */
export const BASE_TEST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  RELAY_MODE: 'dev',
  RELAY_BACKPLANE_MODE: 'single',
};

/** testConfig parses env over BASE_TEST_ENV and fails the test on a config error. */
export function testConfig(env: Record<string, string>): Config {
  const parsed = parseConfig({ ...BASE_TEST_ENV, ...env });
  if (!parsed.ok) throw new Error(`test config invalid: ${parsed.errors.join('; ')}`);
  return parsed.config;
}

/** startTestRelay starts a relay core on a fresh HTTP server. */
export async function startTestRelay(env: Record<string, string>, deps: RelayDeps = {}): Promise<TestRelay> {
  const config = testConfig(env);
  const logLines: string[] = [];
  const log: Logger = deps.log ?? createLogger({ maxEntries: config.maxLogs, write: (l) => logLines.push(l), minLevel: 'debug' });
  const relay = createRelay(config, { ...deps, log });
  const server = createServer((req, res) => relay.handleAdminRequest(req, res));
  server.on('upgrade', relay.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    relay,
    config,
    server,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    logLines,
    async close() {
      await relay.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface PeerOptions {
  readonly role: 'workspace-daemon' | 'client' | 'worker';
  readonly workspaceId: string;
  readonly runtimeTargetId?: string;
  readonly token?: string;
  /** Send the token as an `auth.` subprotocol instead of a Bearer header. */
  readonly viaSubprotocol?: boolean;
  readonly protocols?: string[];
  readonly headers?: Record<string, string>;
  readonly extraQuery?: Record<string, string>;
  /** Trust anchor for wss:// relays. */
  readonly ca?: string;
}

export interface TestPeer {
  readonly ws: WebSocket;
  readonly messages: string[];
  /** next resolves with the first not-yet-consumed message matching pred (parsed JSON). */
  next(pred?: (m: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: object | string): void;
}

export function peerUrl(base: string, o: PeerOptions): string {
  const u = new URL(base);
  u.searchParams.set('role', o.role);
  u.searchParams.set('workspaceId', o.workspaceId);
  if (o.runtimeTargetId !== undefined) u.searchParams.set('runtimeTargetId', o.runtimeTargetId);
  for (const [k, v] of Object.entries(o.extraQuery ?? {})) u.searchParams.set(k, v);
  return u.toString();
}

function open(base: string, o: PeerOptions): WebSocket {
  const headers: Record<string, string> = { ...o.headers };
  const protocols = [...(o.protocols ?? [])];
  if (o.token !== undefined) {
    if (o.viaSubprotocol) protocols.push(`auth.${o.token}`);
    else headers.authorization = `Bearer ${o.token}`;
  }
  return new WebSocket(peerUrl(base, o), protocols, { headers, ...(o.ca !== undefined ? { ca: o.ca } : {}) });
}

/** connectPeer opens a peer and resolves once the 101 arrived; rejects with the HTTP status otherwise. */
export function connectPeer(base: string, o: PeerOptions): Promise<TestPeer> {
  const ws = open(base, o);
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  const consumed = new Set<number>();
  ws.on('message', (data) => {
    messages.push(data.toString());
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of waiters.splice(0)) w();
    }),
  );
  const peer: TestPeer = {
    ws,
    messages,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next(pred = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        // A waiter that timed out must not consume (steal) a message that arrives later.
        let expired = false;
        const timer = setTimeout(() => {
          expired = true;
          reject(new Error(`no matching message within ${timeoutMs} ms; ${messages.length} messages, last: ${(messages[messages.length - 1] ?? '').slice(0, 200)}`));
        }, timeoutMs);
        const check = () => {
          if (expired) return;
          for (let i = 0; i < messages.length; i++) {
            if (consumed.has(i)) continue;
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(messages[i] as string) as Record<string, unknown>;
            } catch {
              continue;
            }
            if (pred(parsed)) {
              consumed.add(i);
              clearTimeout(timer);
              resolve(parsed);
              return;
            }
          }
          waiters.push(check);
        };
        check();
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(peer));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', (err) => reject(Object.assign(err, { status: 0 })));
  });
}

/** upgradeStatus attempts an upgrade and resolves with the HTTP status (101 on success, 0 when the socket was dropped). */
export async function upgradeStatus(base: string, o: PeerOptions): Promise<number> {
  try {
    const p = await connectPeer(base, o);
    p.ws.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? 0;
  }
}

/** closeAll closes peers and waits for their close events. */
export async function closeAll(peers: TestPeer[]): Promise<void> {
  for (const p of peers) p.ws.close();
  await Promise.all(peers.map((p) => p.closed));
}

/** waitFor polls a condition until it holds (tests wait on conditions, never on fixed sleeps). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** counterValue reads one metric's value from the relay's registry (0 when absent). */
export async function counterValue(relay: Relay, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = relay.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
