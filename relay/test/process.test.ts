// Issue 2: the real CLI process. `serve --dev` admits tokens from `token`,
// SIGTERM drains peers and exits in time; --help and --version work.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_VERSION } from '../src/version.js';
import { connectPeer } from './relay-harness.js';

const relayDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(relayDir, 'dist', 'cli.js');
// The relay's own Node 22 (the npm package), whatever `node` is on PATH.
const node = join(relayDir, '..', 'node_modules', '.bin', 'node');
let dir: string;

beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` on a fresh clone builds here.
  if (!existsSync(cli)) spawnSync(join(relayDir, '..', 'node_modules', '.bin', 'tsc'), ['-p', join(relayDir, 'tsconfig.build.json')], { stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'relay-process-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(node, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** startServe spawns `serve --dev` on an ephemeral port and resolves with its port once it listens. */
function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; exit: Promise<number | null> }> {
  const child = spawn(node, [cli, 'serve', '--dev', '--issuer-key-file', join(dir, 'key.json')], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"event":"relay_listening","details":\{[^}]*"port":(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]), exit });
    });
    child.once('exit', (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
  });
}

describe('viewport-relay CLI', () => {
  it('prints --version and --help', () => {
    expect(run(['--version'])).toMatchObject({ status: 0, stdout: `${RELAY_VERSION}\n` });
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('serve');
    expect(help.stdout).toContain('token');
  });

  it('refuses to start on bad configuration, listing every problem without secrets', () => {
    const r = run(['serve'], { PORT: 'x', RELAY_MODE: 'prod', RELAY_INTERNAL_KEY: 'change-me-secret-value', HOST: '0.0.0.0', SERVER_URL: 'https://api.example.com', RELAY_BACKPLANE_MODE: 'single' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT must be an integer');
    expect(r.stderr).not.toContain('change-me-secret-value');
  });

  it('serve --dev admits a token from `token`, and SIGTERM drains peers and exits in time', async () => {
    const { child, port, exit } = await startServe({ RELAY_DRAIN_GRACE_MS: '2000' });
    const mint = (args: string[]) => run(['token', '--issuer-key-file', join(dir, 'key.json'), ...args]).stdout.trim();
    const base = `ws://127.0.0.1:${port}/ws`;
    const daemon = await connectPeer(base, { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1', token: mint(['--role', 'workspace-daemon', '--workspace', 'w1', '--target', 't1']) });
    const client = await connectPeer(base, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token: mint(['--role', 'client', '--workspace', 'w1', '--target', 't1']), viaSubprotocol: true });
    child.kill('SIGTERM');
    for (const p of [daemon, client]) {
      expect(await p.next((m) => m.type === 'relay_status')).toMatchObject({ code: 'RELAY_SHUTTING_DOWN', retryable: true });
      expect((await p.closed).code).toBe(1012);
    }
    // Bounded: the process must be gone well within grace + the hard-stop margin.
    const code = await Promise.race([exit, new Promise<string>((r) => setTimeout(() => r('still running'), 6000))]);
    expect(code).toBe(0);
  });
});
