// Child processes of a control plane. Each component runs in its own process
// group (so its children die with it) and logs to a file. Three layers make
// sure nothing outlives the tests: stop() for the normal path, a synchronous
// 'exit' hook for crashes and process.exit, and a watchdog process that kills
// the groups and removes the temp dir if this process is SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Component is one running control-plane process. */
export interface Component {
  readonly name: string;
  readonly logPath: string;
  readonly pid: number;
  /** exited resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** hasExited is true after the process is gone. */
  hasExited(): boolean;
  /** stop sends SIGTERM to the group, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

const liveGroups = new Set<number>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** trackDir removes dir when this process exits, unless untrackDir ran first. */
export function trackDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

/** untrackDir forgets a directory that was cleaned up normally. */
export function untrackDir(dir: string): void {
  liveDirs.delete(dir);
}

const watchdogScript = `
parent="$1"; dir="$2"
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$dir/pgids" ]; then
  while read -r g; do kill -KILL -- "-$g" 2>/dev/null || true; done < "$dir/pgids"
fi
rm -rf "$dir"
`;

/** startWatchdog spawns a detached shell that, once this process has died,
 * kills every group listed in dir/pgids and removes dir. It polls once a second
 * because nothing notifies a non-child of another process's death. */
export function startWatchdog(dir: string): Component {
  return startComponent({
    name: 'watchdog',
    command: 'bash',
    args: ['-c', watchdogScript, 'watchdog', String(process.pid), dir],
    logPath: join(dir, 'watchdog.log'),
    recordIn: undefined,
  });
}

/** startComponent spawns command in a new process group, appending stdout and
 * stderr to logPath; recordIn names a directory whose pgids file the watchdog reads. */
export function startComponent(o: {
  name: string;
  command: string;
  args: readonly string[];
  logPath: string;
  recordIn: string | undefined;
  env?: NodeJS.ProcessEnv;
}): Component {
  installExitHook();
  const log = openSync(o.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { detached: true, stdio: ['ignore', log, log], env: o.env ?? process.env });
  } finally {
    closeSync(log);
  }
  // Spawn errors (ENOENT) arrive as an event; keep them out of unhandled errors.
  child.once('error', (error) => appendFileSync(o.logPath, `spawn error: ${error.message}\n`));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
  liveGroups.add(pid);
  if (o.recordIn !== undefined) appendFileSync(join(o.recordIn, 'pgids'), `${pid}\n`);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      liveGroups.delete(pid);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  child.unref();

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (done) return;
    killGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([exited.then(() => undefined), forced]);
    clearTimeout(timer);
    await exited;
    // Grandchildren may linger after the leader exits.
    killGroup(pid, 'SIGKILL');
  };
  return { name: o.name, logPath: o.logPath, pid, exited, hasExited: () => done, stop };
}

/** logTail returns the last `lines` lines of a log file, or a note when absent. */
export function logTail(path: string, lines = 40): string {
  if (!existsSync(path)) return `(no log at ${path})`;
  const all = readFileSync(path, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
