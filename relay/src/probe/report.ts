// The probe's summary: counts, timings and the reasons for any failure, as a
// value, as text for people and as JSON for scripts.
import type { Profile } from '../e2ee/index.js';

/** ProbeReport is the outcome of one probe run; ok only if every frame came back intact. */
export interface ProbeReport {
  readonly ok: boolean;
  readonly url: string;
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly profile: Profile;
  readonly kexVersion: 2 | 3;
  /** handshakeMs is the duration of the first completed handshake (init sent → session ready). */
  readonly handshakeMs: number | null;
  readonly handshakes: number;
  readonly rotations: number;
  readonly reconnects: number;
  readonly redirects: number;
  readonly frames: {
    readonly requested: number;
    readonly sent: number;
    readonly intact: number;
    readonly failed: number;
  };
  readonly bytes: number;
  readonly roundTripMs: { readonly p50: number; readonly p99: number; readonly max: number } | null;
  readonly durationMs: number;
  /** errors explains every failure, one line each, without secrets. */
  readonly errors: readonly string[];
}

/** percentile uses the nearest-rank method on sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** roundTripSummary reduces RTT samples to p50/p99/max, or null with no samples. */
export function roundTripSummary(samples: readonly number[]): ProbeReport['roundTripMs'] {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

/** formatReport renders the report for a terminal. */
export function formatReport(r: ProbeReport): string {
  const lines = [
    `probe ${r.ok ? 'PASSED' : 'FAILED'}: ${r.url} workspace=${r.workspaceId} target=${r.runtimeTargetId} profile=${r.profile} kex=v${String(r.kexVersion)}`,
    `  handshake:   ${r.handshakeMs === null ? 'not completed' : ms(r.handshakeMs)} (${String(r.handshakes)} handshakes, ${String(r.rotations)} rotations)`,
    `  frames:      ${String(r.frames.intact)}/${String(r.frames.requested)} intact, ${String(r.frames.sent)} sent, ${String(r.frames.failed)} failed, ${String(r.bytes)} bytes each way`,
    `  round trip:  ${r.roundTripMs ? `p50 ${ms(r.roundTripMs.p50)}, p99 ${ms(r.roundTripMs.p99)}, max ${ms(r.roundTripMs.max)}` : 'no samples'}`,
    `  connection:  ${String(r.reconnects)} reconnects, ${String(r.redirects)} redirects, ${ms(r.durationMs)} total`,
  ];
  if (r.errors.length > 0) {
    lines.push(`  errors (${String(r.errors.length)}):`);
    for (const e of r.errors.slice(0, 20)) lines.push(`    - ${e}`);
    if (r.errors.length > 20) lines.push(`    ... ${String(r.errors.length - 20)} more`);
  }
  return lines.join('\n');
}
