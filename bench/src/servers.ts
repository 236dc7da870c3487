// The servers under test and their helpers, each started as its own process
// on 127.0.0.1: the relay (built, from relay/dist), the bare forwarder, and
// redis-server for the cross-relay path. The relay is configured through its
// environment (docs/protocol.md#configuration) with every rate and connection limit raised far
// above what the load generator produces, so the harness measures forwarding
// rather than throttling.
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { relayImageNodeFlags } from './image-flags.js';
import { freePort, spawnTracked, stopChild, waitForHttp } from './procs.js';

const DIST = fileURLToPath(new URL('.', import.meta.url));
/** RELAY_CLI is the built relay entry point the harness runs. */
export const RELAY_CLI = fileURLToPath(new URL('../../relay/dist/cli.js', import.meta.url));
const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href;
const HUGE = '1000000000';

/** BENCH_LIMITS lifts the relay's limits out of the benchmark's way (values far above any load the harness makes). */
export const BENCH_LIMITS: Readonly<Record<string, string>> = {
  RELAY_MAX_TOTAL_CONNECTIONS: '1000000',
  RELAY_MAX_CONNECTIONS_PER_IP: '1000000',
  RELAY_MAX_CLIENTS_PER_WORKSPACE: '1000',
  RELAY_UPGRADE_RATE_PER_MINUTE: HUGE,
  RELAY_KEX_INIT_RATE_PER_MINUTE: HUGE,
  RELAY_RUNTIME_RATE_PER_MINUTE: HUGE,
  RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE: HUGE,
  RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: HUGE,
  RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: HUGE,
  RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: HUGE,
  RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: HUGE,
  RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: HUGE,
  RELAY_PAIRING_REQUEST_TRACK_MAX: '1000000',
  RELAY_SESSION_OWNER_TRACK_MAX: '1000000',
  // Shutdown drains for this long; the harness has closed every peer by then, so keep stops (and profiles) quick.
  RELAY_DRAIN_GRACE_MS: '500',
};

/** Server is one running process under test. */
export interface Server {
  readonly kind: 'relay' | 'bare';
  readonly label: string;
  readonly pid: number;
  readonly port: number;
  readonly wsUrl: string;
  readonly child: ChildProcess;
  /** tail returns the last lines the process wrote, for error reports (tokens never reach these logs). */
  tail(): string;
  stop(): Promise<void>;
}

/** Platform is what the fake platform told the harness at start. */
export interface Platform {
  url: string;
  validateUrl: string;
  jwksUrl: string;
}

/** RelayOptions choose admission, backplane and profiling for one relay process. */
export interface RelayOptions {
  label: string;
  platform: Platform;
  admission: 'jwks' | 'remote';
  /** peerLinks: the relays of the redis path also link to each other directly (RELAY_PEER_LINK_PORT). */
  redis?: { url: string; relayId: string; prefix: string; peerLinks?: boolean };
  cpuProfDir?: string;
  /** env overrides BENCH_LIMITS, e.g. to run a scenario against the relay's default limits. */
  env?: Record<string, string>;
}

// keepTail remembers the last lines a server wrote, preferring warnings and
// errors (routine info lines would bury the cause of a failure).
function keepTail(child: ChildProcess): () => string {
  const recent: string[] = [];
  const problems: string[] = [];
  const remember = (list: string[], line: string, max: number): void => {
    list.push(line.length > 300 ? line.slice(0, 300) + '…' : line);
    if (list.length > max) list.shift();
  };
  const push = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      remember(recent, line, 3);
      if (!/"level":"(info|debug)"/.test(line)) remember(problems, line, 6);
    }
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
  return () => (problems.length ? problems : recent).map((l) => `    | ${l}`).join('\n');
}

/**
 * copyOutput appends a server's whole stdout and stderr to BENCH_SERVER_LOG_DIR/<label>.log
 * when that is set: for investigations with node flags that print, such as --trace-gc.
 */
function copyOutput(child: ChildProcess, label: string): void {
  const dir = process.env.BENCH_SERVER_LOG_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = createWriteStream(path.join(dir, `${label.replace(/[^\w.-]+/g, '_')}.log`), { flags: 'a' });
  child.stdout?.pipe(file, { end: false });
  child.stderr?.pipe(file, { end: false });
  // 'close', not 'exit': output may still arrive after the process has exited.
  child.once('close', () => file.end());
}

let extraNodeFlags: readonly string[] = [];
let extraRelayNodeFlags: readonly string[] = [];

/** setServerNodeFlags adds Node flags to every server started afterwards (e.g. --perf-basic-prof for perf). */
export function setServerNodeFlags(flags: readonly string[]): void {
  extraNodeFlags = flags;
}

/** setRelayNodeFlags adds Node flags to the relays only (an experiment on the relay's runtime settings). */
export function setRelayNodeFlags(flags: readonly string[]): void {
  extraRelayNodeFlags = flags;
}

function passThrough(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['NODE_PATH', 'WS_NO_BUFFER_UTIL']) {
    const value = process.env[name];
    if (value) out[name] = value;
  }
  return out;
}

async function startServer(kind: Server['kind'], label: string, script: string, env: Record<string, string>, nodeFlags: string[], port: number): Promise<Server> {
  const args = [...relayImageNodeFlags(), ...extraNodeFlags, ...nodeFlags, '--expose-gc', '--import', PARENT_WATCH, script, ...(script === RELAY_CLI ? ['serve'] : [])];
  const child = spawnTracked(process.execPath, args, {
    // NODE_PATH and WS_NO_BUFFER_UTIL pass through so an experiment can offer or withhold the
    // optional native bufferutil for every server alike.
    env: { PATH: process.env.PATH ?? '', ...passThrough(), ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = keepTail(child);
  copyOutput(child, label);
  try {
    await waitForHttp(port, child, 20000);
  } catch (err) {
    await stopChild(child, 1000);
    throw new Error(`${label} did not start: ${err instanceof Error ? err.message : String(err)}\n${tail()}`);
  }
  return { kind, label, pid: child.pid!, port, wsUrl: `ws://127.0.0.1:${port}/ws`, child, tail, stop: () => stopChild(child) };
}

/** startBare runs the bare forwarder; kind 'relay' makes it stand in for the relay when the harness tests itself. */
export async function startBare(label = 'bare', kind: Server['kind'] = 'bare', cpuProfDir?: string, parseFrames = false): Promise<Server> {
  const env: Record<string, string> = parseFrames ? { BARE_PARSE_FRAMES: '1' } : {};
  return startServer(kind, label, DIST + 'bare-forwarder-main.js', env, cpuProfFlags(cpuProfDir), await freePort());
}

/** startRelay runs the built relay in dev mode with benchmark limits and the chosen admission and backplane. */
export async function startRelay(opts: RelayOptions): Promise<Server> {
  if (!existsSync(RELAY_CLI)) throw new Error(`${RELAY_CLI} not found: build the relay first (npm run build -w relay)`);
  const port = await freePort();
  const env: Record<string, string> = {
    ...BENCH_LIMITS,
    RELAY_MODE: 'dev',
    SERVER_URL: opts.platform.url,
    RELAY_VALIDATE_URL: opts.platform.validateUrl,
    RELAY_JWKS_URL: opts.platform.jwksUrl,
    RELAY_ADMISSION_MODE: opts.admission,
    RELAY_PUBLIC_WS_BASE_URL: `ws://127.0.0.1:${port}/ws`,
    RELAY_ID: opts.redis?.relayId ?? `bench-${opts.label}`,
    ...opts.env,
  };
  if (opts.redis) {
    Object.assign(env, {
      RELAY_BACKPLANE_MODE: 'redis',
      RELAY_REDIS_URL: opts.redis.url,
      RELAY_BACKPLANE_URL: opts.redis.url,
      RELAY_REDIS_KEY_PREFIX: opts.redis.prefix,
      RELAY_BUS_ENABLED: '1',
      RELAY_BUS_HMAC_KEY: 'bench-bus-hmac-key-not-a-secret',
      RELAY_INTERNAL_KEY: 'bench-internal-key-not-a-secret',
      RELAY_CLIENT_REDIRECT_ENABLED: '0',
    });
    if (opts.redis.peerLinks) {
      const peerPort = await freePort();
      Object.assign(env, { RELAY_PEER_LINK_PORT: String(peerPort), RELAY_PEER_LINK_HOST: '127.0.0.1' });
    }
  } else {
    env.RELAY_BACKPLANE_MODE = 'single';
  }
  return startServer('relay', opts.label, RELAY_CLI, env, [...extraRelayNodeFlags, ...cpuProfFlags(opts.cpuProfDir)], port);
}

function cpuProfFlags(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Redis is a private redis-server for the cross-relay scenario. */
export interface Redis {
  url: string;
  stop(): Promise<void>;
}

/** startRedis runs redis-server on a free loopback port with persistence off, and waits for PONG. */
export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const child = spawnTracked('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined); // awaited in the loop below; this only keeps a late error from being unhandled
  const until = Date.now() + 10000;
  while (!(await Promise.race([pong(port), spawnError]))) {
    if (Date.now() > until || child.exitCode !== null) {
      await stopChild(child, 1000);
      throw new Error(`redis-server did not answer PING on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
