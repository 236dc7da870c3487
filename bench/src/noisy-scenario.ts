// The noisy-neighbour scenario (issue 22): victims in their own workspaces
// measure their round trips at 10 frames/s, first quiet, then while one client
// of another workspace floods the relay with the most expensive frames it may
// send: the relay tests' flood process (relay/test/reliability/flood-process.ts),
// run as its own process, reconnecting after every close. The relay runs with its default inbound budgets and
// invalid-frame allowance; only the limits the victims would hit are lifted.
// Target: the victims' p99 under the flood within 1.5x of the quiet p99. The
// relay's peak RSS during the flood is printed against the operator's default
// memory limit (512 Mi).
import { fileURLToPath } from 'node:url';
import { sampleProc, spawnTracked, stopChild } from './procs.js';
import { addSample, fail, newScenario, type ScenarioResult } from './results.js';
import { LATENCY_HZ, measureTraffic, message, setupPopulation, teardown, errorTotal, describeErrors, type Harness, type TrafficSample } from './scenarios.js';
import type { Server } from './servers.js';

// The relay's defaults (docs/protocol.md#inbound-budget), set explicitly over the bench's lifted limits.
const DEFAULT_BUDGETS: Record<string, string> = {
  RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: '100',
  RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: '2097152',
  RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: '1000',
  RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: '16777216',
  RELAY_MAX_INVALID_FRAMES_PER_MINUTE: '30',
};
const VICTIM_WORKSPACES = 20;
// Just under the default 1 MiB frame limit.
const NOISE_BYTES = (1 << 20) - 64;
const OPERATOR_MEMORY_LIMIT_MB = 512;
const QUIET = 'quiet';
const WIDE = 'noisy (wide valid frames)';
const NESTED = 'noisy (nested frames)';
const FLOOD = fileURLToPath(new URL('../../relay/test/reliability/flood-process.ts', import.meta.url));

interface FloodResult {
  sent: number;
  closes: string[];
}

/** startFlood runs the flood process as a client of the workspace `noisy`; stop() ends it and returns what it did. */
async function startFlood(h: Harness, url: string, kind: 'wide' | 'nested'): Promise<{ stop(): Promise<FloodResult> }> {
  const token = await h.mint({ role: 'client', workspaceId: 'noisy', runtimeTargetId: 'rt-1', scope: 'runtime', clientId: 'noisy' });
  const child = spawnTracked(process.execPath, [FLOOD], {
    env: { PATH: process.env.PATH ?? '', FLOOD_URL: `${url}?role=client&workspaceId=noisy&runtimeTargetId=rt-1`, FLOOD_TOKEN: token, FLOOD_KIND: kind, FLOOD_BYTES: String(NOISE_BYTES) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    async stop() {
      await stopChild(child, 10_000);
      return JSON.parse(out.trim() || '{"sent":0,"closes":[]}') as FloodResult;
    },
  };
}

/** peakRss samples a process's RSS every 100 ms until stopped, and returns the highest reading. */
function peakRss(pid: number): () => number {
  let peak = sampleProc(pid).rssBytes;
  const timer = setInterval(() => (peak = Math.max(peak, sampleProc(pid).rssBytes)), 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, sampleProc(pid).rssBytes);
  };
}

function addVictim(s: ScenarioResult, variant: string, t: TrafficSample): void {
  if (!t.latency) throw new Error('no round trips were recorded');
  addSample(s, variant, 'victim round trip p50', 'ms', t.latency.p50, 2);
  addSample(s, variant, 'victim round trip p99', 'ms', t.latency.p99, 2, { kind: 'ratio', op: '<=', value: 1.5 });
  addSample(s, variant, 'victim round trips measured', 'count', t.latency.count, 0);
}

/** runNoisyNeighbour measures the victims quiet, under wide valid frames and under nested frames, each round. */
export async function runNoisyNeighbour(h: Harness): Promise<ScenarioResult> {
  const s = newScenario(
    `noisy neighbour: ${VICTIM_WORKSPACES} ws × 1 client at ${LATENCY_HZ} frames/s of 256 B, while one client of another workspace floods frames just under 1 MiB`,
    [WIDE, QUIET, NESTED],
  );
  let relay: Server | undefined;
  try {
    relay = await h.startRelay({ label: 'relay-noisy', admission: 'jwks', env: DEFAULT_BUDGETS });
    for (let round = 0; round < h.profile.rounds && s.status === 'ok'; round++) {
      h.log(`round ${round + 1}/${h.profile.rounds}: noisy neighbour`);
      await setupPopulation(h, relay.wsUrl, relay.wsUrl, VICTIM_WORKSPACES, 1);
      const load = { mode: 'rate', hz: LATENCY_HZ, size: 256 } as const;
      addVictim(s, QUIET, await measureTraffic(h, [relay], load, h.profile.latencyMs));
      for (const [variant, frame] of [
        [WIDE, 'wide'],
        [NESTED, 'nested'],
      ] as const) {
        const peak = peakRss(relay.pid);
        const flood = await startFlood(h, relay.wsUrl, frame);
        let t: TrafficSample;
        try {
          t = await measureTraffic(h, [relay], load, h.profile.latencyMs);
        } finally {
          const noise = await flood.stop();
          addSample(s, variant, 'noisy client frames written', 'count', noise.sent, 0);
          addSample(s, variant, 'noisy client closed by the relay', 'count', noise.closes.filter((c) => c.startsWith('4008')).length, 0);
          h.log(`${variant}: ${noise.sent} frames written; closes ${JSON.stringify(noise.closes)}`);
        }
        addVictim(s, variant, t);
        addSample(s, variant, 'relay peak RSS', 'MB', peak() / 1e6, 1, { kind: 'absolute', op: '<=', value: OPERATOR_MEMORY_LIMIT_MB });
      }
      const closeErrors = await teardown(h);
      if (errorTotal(closeErrors) > 0) fail(s, describeErrors(closeErrors));
    }
  } catch (err) {
    fail(s, `${message(err)}${relay ? `\n${relay.tail()}` : ''}`);
    await teardown(h).catch(() => undefined);
  } finally {
    await relay?.stop();
  }
  return s;
}
