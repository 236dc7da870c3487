import { describe, expect, it } from 'vitest';
import { parseTaskTimes } from './procs.js';

describe('parseTaskTimes', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  it('reads the CPU fields after a command name holding spaces and parentheses (ticks of 10 ms)', () => {
    const stat = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 700 30 20 0 11 0 100 0 0\n';
    expect(parseTaskTimes(stat)).toEqual({ userMs: 2500, systemMs: 500, reapedChildrenMs: 7300 });
  });

  it('refuses a line it cannot read rather than returning NaN', () => {
    expect(() => parseTaskTimes('4242 (node) S 1 2')).toThrow(/unreadable/);
  });
});
