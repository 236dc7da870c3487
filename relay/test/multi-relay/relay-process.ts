// Test helper: a relay as a real child process (`node relay/dist/cli.js serve`),
// configured only by the env the test passes, on a port chosen up front so its
// public URL is known before it starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../redis-server.js';
import { waitFor } from '../backplane/wait-for.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');
export const ADMIN_TOKEN = 'multi-relay-admin-token-0123456789';

export interface RelayProcess {
  readonly id: string;
  readonly port: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** pid is the child's process id (for SIGSTOP/SIGCONT and RSS readings). */
  readonly pid: number;
  /** output is everything the process printed so far (JSON log lines). */
  output(): string;
  isReady(): Promise<boolean>;
  /** metric reads one unlabelled sample from /metrics (0 when absent). */
  metric(name: string): Promise<number>;
  /** kill is a crash: SIGKILL, no drain, no presence cleanup. */
  kill(): Promise<void>;
  /** stop is a graceful SIGTERM. */
  stop(): Promise<void>;
}


/** relayExit runs `serve` with env (nothing else) and resolves with its exit code and output; for configurations that must be refused. */
export async function relayExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build -w relay\` first`);
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

/** startRelayProcess spawns a relay and waits until /ready answers 200. */
/**
 * startRelayProcess spawns `serve` and waits until it is ready, or with
 * awaitReady false only until it answers /ready at all (for relays that must stay unready).
 */
export async function startRelayProcess(id: string, env: Record<string, string>, publicWsBaseUrl?: string, awaitReady = true): Promise<RelayProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build -w relay\` first`);
  const port = await freePort();
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const httpUrl = `http://127.0.0.1:${port}`;
  let out = '';
  let exited = false;
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      RELAY_MODE: 'dev',
      RELAY_ID: id,
      RELAY_PUBLIC_WS_BASE_URL: publicWsBaseUrl ?? wsUrl,
      RELAY_ENABLE_ADMIN_HTTP: '1',
      RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const readyStatus = async () => {
    try {
      return (await fetch(`${httpUrl}/ready`)).status;
    } catch {
      return 0;
    }
  };
  const isReady = async () => (await readyStatus()) === 200;
  const signal = async (name: NodeJS.Signals) => {
    if (!exited) child.kill(name);
    await exit;
  };

  try {
    await waitFor(async () => {
      if (exited) throw new Error(`relay ${id} exited during start:\n${out}`);
      return awaitReady ? isReady() : (await readyStatus()) !== 0;
    }, `relay ${id} to ${awaitReady ? 'become ready' : 'listen'}`, 20_000);
  } catch (error) {
    await signal('SIGKILL');
    throw new Error(`${String(error)}\n${out}`);
  }

  return {
    id,
    port,
    wsUrl,
    httpUrl,
    pid: child.pid ?? 0,
    output: () => out,
    isReady,
    async metric(name) {
      const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const text = await res.text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.split(' ')[1]) : 0;
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}
