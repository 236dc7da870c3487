// Other work on the machine during a run: the machine's CPU time in user and
// kernel code (/proc/stat) minus the CPU time of the harness and every child it
// started, and apart from it the time the hypervisor gave this machine's vCPUs
// to someone else (steal). The load average cannot tell the two apart from the
// run's own load: the cross-relay scenarios alone keep more processes runnable
// than a 2-core machine has cores, so by that measure every full run looked busy.
import { readFileSync } from 'node:fs';
import { parseTaskTimes, TICK_MS } from './procs.js';

/** MachineCpu is the machine's CPU time so far, summed over its cores. */
export interface MachineCpu {
  /** Time in user and kernel code (user, nice, system, irq, softirq). */
  busyMs: number;
  /** Time a vCPU was ready to run but the hypervisor ran something else. */
  stealMs: number;
}

/**
 * parseMachineCpu reads the aggregate `cpu` line of /proc/stat. irq and softirq
 * time count as busy: with tick-based accounting (no IRQ_TIME_ACCOUNTING, as
 * on this machine's kernel) a tick spent in softirq is also charged to the
 * task it interrupted, which for loopback traffic is mostly the run's own
 * sender. On a kernel that accounts irq time apart, the run's own softirq time
 * would show as other work instead.
 */
export function parseMachineCpu(procStat: string): MachineCpu {
  const line = procStat.split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error('/proc/stat: no aggregate cpu line');
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1, 9).map(Number) as number[];
  if (![user, nice, system, irq, softirq, steal].every((v) => Number.isFinite(v))) throw new Error('/proc/stat: cpu line has a non-numeric field');
  return { busyMs: (user! + nice! + system! + irq! + softirq!) * TICK_MS, stealMs: steal! * TICK_MS };
}

/** taskCpuMs is a process's CPU time with that of its reaped children. */
function taskCpuMs(pid: number | 'self'): number {
  const t = parseTaskTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return t.userMs + t.systemMs + t.reapedChildrenMs;
}

/** CpuMark is one reading of the machine's and the run's CPU time. */
export interface CpuMark {
  atMs: number;
  machine: MachineCpu;
  /** CPU time of the harness, the children it has reaped, and the given live children (with theirs). */
  runMs: number;
}

/**
 * markCpu reads the machine's CPU time and the run's: this process with its
 * reaped children, and each live child in pids. A child that exits between the
 * two reads is skipped (its time then counts as other work, a few ms at most).
 * Returns undefined where /proc is not there (not Linux).
 */
export function markCpu(pids: Iterable<number>): CpuMark | undefined {
  let machine: MachineCpu;
  let runMs: number;
  try {
    machine = parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
    runMs = taskCpuMs('self');
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      runMs += taskCpuMs(pid);
    } catch {
      // exited meanwhile
    }
  }
  return { atMs: performance.now(), machine, runMs };
}

/** OtherCpu is CPU use outside the run between two marks, in % of one core averaged over the interval. */
export interface OtherCpu {
  otherPercent: number;
  stealPercent: number;
}

/** otherCpuBetween compares two marks; other work is never negative (tick rounding can make it so). */
export function otherCpuBetween(start: CpuMark, end: CpuMark): OtherCpu {
  const elapsedMs = end.atMs - start.atMs;
  if (!(elapsedMs > 0)) throw new Error('otherCpuBetween: end mark is not after the start mark');
  const otherMs = end.machine.busyMs - start.machine.busyMs - (end.runMs - start.runMs);
  const stealMs = end.machine.stealMs - start.machine.stealMs;
  return { otherPercent: (Math.max(0, otherMs) / elapsedMs) * 100, stealPercent: (Math.max(0, stealMs) / elapsedMs) * 100 };
}

/** A run is flagged busy when other work and steal took more than this share of one core on average. */
export const BUSY_OTHER_PERCENT = 20;
