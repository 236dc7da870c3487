// Child processes of a benchmark run: every child is registered here so one
// call (also from exit, signal and exception handlers) kills them all.
import { type ChildProcess, fork, spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

const children = new Set<ChildProcess>();

/** track registers a child so killAll reaches it; it unregisters itself on exit. */
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** spawnTracked starts a command as a tracked child. */
export function spawnTracked(cmd: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return track(spawn(cmd, args, options));
}

/** forkTracked starts a Node module as a tracked child with an IPC channel. */
export function forkTracked(modulePath: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return track(fork(modulePath, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/** livePids lists the children still running (their CPU time is not yet in this process's reaped-children total). */
export function livePids(): number[] {
  const pids: number[] = [];
  for (const child of children) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) pids.push(child.pid);
  return pids;
}

/** killAll sends SIGKILL to every child still running; safe to call from a synchronous exit handler. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** stopChild asks a child to exit with SIGTERM and escalates to SIGKILL after graceMs. */
export async function stopChild(child: ChildProcess, graceMs = 10000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** freePort asks the kernel for an unused loopback port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** waitForHttp polls until something answers HTTP on the port (any status), the child dies, or the deadline passes. */
export async function waitForHttp(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process ${child.pid ?? '?'} exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    if (await answersHttp(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered HTTP on 127.0.0.1:${port} within ${deadlineMs} ms`);
}

function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** ProcSample is one reading of a process's CPU time (ms) and resident memory (bytes). */
export interface ProcSample {
  cpuMs: number;
  userMs: number;
  systemMs: number;
  rssBytes: number;
  atMs: number;
}

/** Length of a clock tick of /proc's CPU times: CLK_TCK is 100 on Linux. */
export const TICK_MS = 10;

/** TaskTimes is one process's CPU time, in ms, as /proc/<pid>/stat gives it. */
export interface TaskTimes {
  userMs: number;
  systemMs: number;
  /** CPU time of its children that exited and were waited for (cutime + cstime). */
  reapedChildrenMs: number;
}

/**
 * parseTaskTimes reads utime, stime, cutime and cstime (fields 14-17) of
 * /proc/<pid>/stat. The command name is parenthesised and may itself hold
 * spaces or parentheses, so fields are counted from the last ')'.
 */
export function parseTaskTimes(stat: string): TaskTimes {
  // After the name, field 3 (state) is at index 0, so fields 14-17 sit at 11-14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number) as number[];
  if (![utime, stime, cutime, cstime].every((v) => Number.isFinite(v))) throw new Error('/proc/<pid>/stat: unreadable CPU fields');
  return { userMs: utime! * TICK_MS, systemMs: stime! * TICK_MS, reapedChildrenMs: (cutime! + cstime!) * TICK_MS };
}

/** sampleProc reads /proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmRSS). Linux only. */
export function sampleProc(pid: number): ProcSample {
  const { userMs, systemMs } = parseTaskTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status);
  return { cpuMs: userMs + systemMs, userMs, systemMs, rssBytes: rss ? Number(rss[1]) * 1024 : Number.NaN, atMs: performance.now() };
}
