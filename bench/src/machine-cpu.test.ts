import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CpuMark, markCpu, otherCpuBetween, parseMachineCpu } from './machine-cpu.js';

describe('parseMachineCpu', () => {
  it('counts user, nice, system, irq and softirq as busy, idle and iowait not, and steal apart (ticks of 10 ms)', () => {
    const stat = 'cpu  359986 48529 171165 2216921 1795 7 54337 220 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n';
    expect(parseMachineCpu(stat)).toEqual({ busyMs: (359986 + 48529 + 171165 + 7 + 54337) * 10, stealMs: 2200 });
  });

  it('refuses text without the aggregate line rather than guessing', () => {
    expect(() => parseMachineCpu('cpu0 1 2 3 4 5 6 7 8\n')).toThrow(/aggregate cpu line/);
    expect(() => parseMachineCpu('cpu 1 2 x 4 5 6 7 8 0 0\n')).toThrow(/non-numeric/);
  });
});

describe('otherCpuBetween', () => {
  const mark = (atMs: number, busyMs: number, stealMs: number, runMs: number): CpuMark => ({ atMs, machine: { busyMs, stealMs }, runMs });

  it('is the machine time the run did not use, in % of one core', () => {
    // 10 s: the machine was busy 12 s (of 20 on two cores), the run used 9 s, steal 0.5 s.
    const other = otherCpuBetween(mark(0, 1000, 100, 500), mark(10_000, 13_000, 600, 9_500));
    expect(other.otherPercent).toBeCloseTo(30);
    expect(other.stealPercent).toBeCloseTo(5);
  });

  it('never reports negative other work (tick rounding)', () => {
    expect(otherCpuBetween(mark(0, 0, 0, 0), mark(1000, 100, 0, 120)).otherPercent).toBe(0);
  });

  it('refuses marks out of order', () => {
    expect(() => otherCpuBetween(mark(5, 0, 0, 0), mark(5, 0, 0, 0))).toThrow(/not after/);
  });
});

// The figure is only honest if the run's own processes are excluded: a live child
// passed by pid, and a child that already exited (the harness's reaped-children total).
describe.skipIf(!existsSync('/proc/self/stat'))('markCpu on Linux', () => {
  // Spins until the child itself has used 400 ms of CPU, so a loaded machine only makes it slower.
  const SPIN = 'for (let u = process.cpuUsage(); u.user + u.system < 400_000; u = process.cpuUsage());';

  it("counts a live child's CPU as the run's", async () => {
    const child = spawn(process.execPath, ['-e', `${SPIN} process.stdout.write('spun'); setTimeout(() => {}, 60_000)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const start = markCpu([child.pid!])!;
      await new Promise((resolve) => child.stdout!.once('data', resolve));
      const end = markCpu([child.pid!])!;
      expect(end.runMs - start.runMs).toBeGreaterThanOrEqual(350);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("counts an exited child's CPU as the run's once it is reaped", async () => {
    const start = markCpu([])!;
    const child = spawn(process.execPath, ['-e', SPIN], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const end = markCpu([])!;
    expect(end.runMs - start.runMs).toBeGreaterThanOrEqual(350);
  });
});
