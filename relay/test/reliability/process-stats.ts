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

/**
 * robustSlope is the Theil–Sen trend of samples in bytes per second: the median
 * of the slopes between pairs of samples. A leak raises every later sample, so
 * it moves the median; a GC that runs late on a loaded machine moves a few
 * samples, so it does not (least squares follows such spikes). Long series are
 * thinned to at most maxPoints evenly spaced samples to bound the pair count.
 */
export function robustSlope(samples: readonly Sample[], maxPoints = 400): number {
  const step = Math.max(1, Math.ceil(samples.length / maxPoints));
  const points = samples.filter((_, i) => i % step === 0);
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as Sample;
      const b = points[j] as Sample;
      if (b.t > a.t) slopes.push((b.bytes - a.bytes) / (b.t - a.t));
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((x, y) => x - y);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? (slopes[mid] as number) : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
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
