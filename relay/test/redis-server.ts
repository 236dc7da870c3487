// Test helper: a real redis-server on a free 127.0.0.1 port in a temp dir,
// without persistence, that a test can stop and start again on the same port.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tlsConnect } from 'node:tls';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './backplane/wait-for.js';

export interface TestRedisServer {
  readonly port: number;
  /** redis://127.0.0.1:port (with the password, when one was set). */
  readonly url: string;
  /** stop kills the server (SIGKILL, like a crash) and waits for it to exit. */
  stop(): Promise<void>;
  /** start launches it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  isRunning(): boolean;
  /** close stops it and removes its temp dir. */
  close(): Promise<void>;
}

export interface TestRedisOptions {
  readonly password?: string;
  /** Serve TLS only (rediss://), with this PEM certificate and key; clients need no certificate. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** Replicate from the server on this port (a replica for Sentinel failover tests). */
  readonly replicaOf?: number;
}

/** freePort asks the OS for a free 127.0.0.1 port (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends one inline command and resolves with the first reply line, or null on any failure. */
function ask(port: number, command: string, tls: boolean): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (value: string | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => done(null));
    socket.on('error', () => done(null));
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.split('\r\n')[0] ?? null);
    });
  });
}


/** startRedisServer launches redis-server and waits until it answers. */
export async function startRedisServer(options: TestRedisOptions = {}): Promise<TestRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const ping = options.password ? `AUTH ${options.password}\r\nPING` : 'PING';

  async function start(): Promise<void> {
    if (child) return;
    output = '';
    const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
    if (options.tls) {
      args.push('--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no');
      args.push('--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'));
    } else {
      args.push('--port', String(port));
    }
    if (options.password) args.push('--requirepass', options.password);
    if (options.replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(options.replicaOf));
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    proc.on('exit', () => {
      if (child === proc) child = undefined;
    });
    await waitFor(async () => {
      if (!child) throw new Error(`redis-server exited:\n${output}`);
      const reply = await ask(port, ping, options.tls !== undefined);
      return reply === '+OK' || reply === '+PONG';
    }, 'redis-server to answer PING');
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
  }

  if (options.tls) {
    await writeFile(join(dir, 'cert.pem'), options.tls.certPem);
    await writeFile(join(dir, 'key.pem'), options.tls.keyPem);
  }
  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `${options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    start,
    stop,
    isRunning: () => child !== undefined,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestRedisSentinel {
  readonly port: number;
  /** url reaches the monitored master through this Sentinel. */
  readonly url: string;
  close(): Promise<void>;
}

/** startRedisSentinel runs a real Sentinel (quorum 1) watching the master on masterPort under masterName. */
export async function startRedisSentinel(masterPort: number, masterName = 'relaymaster'): Promise<TestRedisSentinel> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
      // Fast failover for tests: a dead master is noticed in half a second.
      `sentinel down-after-milliseconds ${masterName} 500`,
      `sentinel failover-timeout ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  let output = '';
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  await waitFor(async () => {
    if (exited) throw new Error(`redis sentinel exited:\n${output}`);
    const reply = await ask(port, `SENTINEL get-master-addr-by-name ${masterName}`, false);
    return reply === '*2';
  }, 'redis sentinel to know its master');
  return {
    port,
    url: `redis://127.0.0.1:${port}/?sentinel=${masterName}`,
    async close() {
      if (!exited) proc.kill('SIGKILL');
      await exit;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** selfSignedCert makes a one-day certificate for 127.0.0.1 with openssl; null where openssl is missing. */
export function selfSignedCert(): { certPem: string; keyPem: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
