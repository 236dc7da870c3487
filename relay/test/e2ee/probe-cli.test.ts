// The user's path: `viewport-relay serve --dev` and `viewport-relay probe` as
// real child processes of the built CLI (run `npm run build -w relay` first;
// `npm test` does).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/probe/index.js';
import { freePort } from '../redis-server.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('viewport-relay probe (child processes)', () => {
  let dir: string;
  let keyFile: string;
  let relay: ChildProcess;
  let port: number;
  let exited: Promise<void>;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build -w relay\` first`);
    dir = mkdtempSync(join(tmpdir(), 'probe-cli-'));
    keyFile = join(dir, 'issuer-key.json');
    port = await freePort();
    relay = spawn(process.execPath, [CLI, 'serve', '--dev', '--issuer-key-file', keyFile], {
      env: { PATH: process.env.PATH ?? '', PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    exited = new Promise((resolve) => relay.once('exit', () => resolve()));
    // serve --dev prints its connection help to stderr once it listens.
    await new Promise<void>((resolve, reject) => {
      let err = '';
      relay.stderr?.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        if (err.includes('listening on')) resolve();
      });
      relay.once('exit', (code) => reject(new Error(`relay exited early (${String(code)}): ${err}`)));
    });
  });

  afterAll(async () => {
    relay?.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 and reports every frame intact against a dev relay', async () => {
    const out = await runCli(['probe', '--url', `ws://127.0.0.1:${String(port)}/ws`, '--workspace', 'w1', '--target', 't1', '--frames', '10', '--profile', 'noise-ikpsk2', '--json', '--issuer-key-file', keyFile]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as ProbeReport;
    expect(report).toMatchObject({ ok: true, frames: { requested: 10, sent: 10, intact: 10, failed: 0 }, handshakes: 1 });
  });

  it('exits non-zero with a clear message when nothing listens at the URL', async () => {
    const unused = await freePort();
    const out = await runCli(['probe', '--url', `ws://127.0.0.1:${String(unused)}/ws`, '--timeout', '500', '--frames', '1', '--issuer-key-file', keyFile]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^probe FAILED: /);
    expect(out.stdout).toMatch(/handshake: daemon connection failed: .*ECONNREFUSED/);
  });
});
