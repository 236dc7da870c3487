// The first hour of a new user: `npm start` prints commands and URLs, and
// every one of them works as printed; `npx viewport-relay` and
// `npx viewport-relay-operator` run the workspace programs. The relay is
// started with `npm start -w relay`, the step of the root `npm start` that
// prints (the root script builds first; `npm test` has built already), on a
// free loopback port and with its own TMPDIR for the dev signing key.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../relay/test/redis-server.js';
import { repoRoot } from '../repo.js';

const run = promisify(execFile);
const versionOf = (workspace: string): string =>
  (JSON.parse(fs.readFileSync(path.join(repoRoot, workspace, 'package.json'), 'utf8')) as { version: string }).version;

/** shell runs one printed command line as a user would paste it, from the repository root. */
async function shell(line: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run('sh', ['-c', line], { cwd: repoRoot, env, timeout: 60_000 });
  return stdout;
}

/** opens resolves when a WebSocket to url is accepted, and rejects when it is refused or closed first. */
function opens(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.addEventListener('open', () => resolve(ws));
    ws.addEventListener('error', () => reject(new Error(`${url.replace(/token=[^&]+/, 'token=…')} was refused`)));
  });
}

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

describe('npm start, tried as a new user would', () => {
  let relay: ChildProcess | undefined;
  let banner = '';
  let env: NodeJS.ProcessEnv = {};
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'first-hour-'));

  beforeAll(async () => {
    env = { ...process.env, PORT: String(await freePort()), TMPDIR: tmp };
    relay = spawn('npm', ['start', '-w', 'relay'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      relay!.stderr!.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        if (/^ {2}admin: .*$/m.test(banner)) resolve();
      });
      relay!.on('exit', (code) => reject(new Error(`npm start exited ${code}:\n${banner}`)));
    });
  });

  afterAll(async () => {
    if (relay?.pid !== undefined && relay.exitCode === null) {
      const exited = new Promise((resolve) => relay!.on('exit', resolve));
      process.kill(-relay.pid, 'SIGTERM');
      await exited;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const printed = (label: string): string => {
    const line = banner.match(new RegExp(`^ {2}${label}: (.*)$`, 'm'))?.[1];
    if (line === undefined) throw new Error(`npm start printed no "${label}:" line:\n${banner}`);
    return line;
  };

  it('prints only commands this test runs', () => {
    const commands = [...banner.matchAll(/^ {2}[\w ]+: ((?:npx|curl|node|npm) .*)$/gm)].map((m) => m[1]!.split(' ')[0]);
    expect(commands.sort()).toEqual(['curl', 'npx']);
  });

  it('"more tokens" mints a token the relay admits, and the sample daemon token is admitted too', async () => {
    const token = (await shell(printed('more tokens'), env)).trim();
    expect(token).toMatch(JWT);
    const daemon = await opens(`${printed('daemon')}&token=${printed('sample daemon token')}`);
    const client = await opens(`${printed('client')}&token=${token}`);
    client.close();
    daemon.close();
  });

  it('the admin curl line answers the relay state', async () => {
    const state = JSON.parse(await shell(printed('admin'), env)) as Record<string, unknown>;
    expect(state).not.toHaveProperty('error');
    expect(Object.keys(state).length).toBeGreaterThan(0);
  });

  it('the probe page loads', async () => {
    const url = printed('probe page').split(/\s+/)[0]!;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
  });
});

describe('npx runs both programs of the workspace', () => {
  it.each([
    ['viewport-relay', 'relay'],
    ['viewport-relay-operator', 'operator'],
  ])('npx %s --version', async (bin, workspace) => {
    expect((await shell(`npx --no-install ${bin} --version`, process.env)).trim()).toBe(versionOf(workspace));
  });
});
