// Memory readings of a child process, and the trend fit the soak uses.
import { readFileSync } from 'node:fs';

/** rssBytes reads a process's resident set size from /proc (Linux). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** MiB formats bytes as mebibytes with one decimal. */
export const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/** Sample is one reading: seconds since the start, bytes. */
export interface Sample {
  readonly t: number;
  readonly bytes: number;
}

/** slope is the least-squares trend of samples, in bytes per second (0 for fewer than two samples). */
export function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mb = samples.reduce((a, s) => a + s.bytes, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.bytes - mb);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** sampler reads rssBytes(pid) every intervalMs until stop(), keeping the samples and the peak. */
export function sampler(pid: number, intervalMs: number): { samples: Sample[]; peak(): number; stop(): void } {
  const t0 = Date.now();
  const samples: Sample[] = [];
  const read = () => {
    try {
      samples.push({ t: (Date.now() - t0) / 1000, bytes: rssBytes(pid) });
    } catch {
      clearInterval(timer); // the process is gone: keep what was read
    }
  };
  const timer = setInterval(read, intervalMs);
  read();
  return {
    samples,
    peak: () => Math.max(...samples.map((s) => s.bytes)),
    stop: () => {
      clearInterval(timer);
      read();
    },
  };
}
