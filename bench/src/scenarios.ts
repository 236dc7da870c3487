// The scenarios. Each measures the relay and a yardstick in the same run,
// alternating their order round by round, and records one sample per round.
// Any anomaly the load generator counts fails the scenario with its reason.
import type { ConnectRateResult, ErrorCounts, LoadArgs, Mark, StopResult } from './loadgen.js';
import { sampleProc } from './procs.js';
import type { Profile } from './profiles.js';
import { addSample, fail, markUnavailable, newScenario, type ScenarioResult, type Target } from './results.js';
import type { RpcClient } from './rpc.js';
import { GC_SIGNAL } from './gc-signal.js';
import type { Minter } from './tokens.js';
import { type Platform, type RelayOptions, type Server, startBare, startRedis } from './servers.js';

/** Harness is what every scenario needs: the load generator, the fake platform and the profile. */
export interface Harness {
  loadgen: RpcClient;
  loadgenPid: number;
  platform: Platform;
  profile: Profile;
  /** startRelay starts a relay under test (in a self-test run, a bare forwarder standing in for it). */
  startRelay(opts: Omit<RelayOptions, 'platform'>): Promise<Server>;
  /** mint signs relay tokens with the fake platform's key (for peers the harness runs itself). */
  mint: Minter;
  /** traffic narrows the traffic scenarios (for profiling one case); undefined means all. */
  traffic: TrafficFilter;
  log(message: string): void;
}

/** TrafficFilter selects sizes and topologies ("1x1", "50x4"), and whether throughput and latency run. */
export interface TrafficFilter {
  sizes?: readonly number[];
  topologies?: readonly string[];
  throughput: boolean;
  latency: boolean;
}

interface Topology {
  id: string;
  label: string;
  workspaces: number;
  clientsPerWorkspace: number;
  window: number;
  latency: boolean;
}

const SIZES = [256, 16384] as const;
const TOPOLOGIES: readonly Topology[] = [
  // One client needs many frames in flight to keep the relay busy; 200 clients need only a few each.
  { id: '1x1', label: '1 ws × 1 client', workspaces: 1, clientsPerWorkspace: 1, window: 32, latency: false },
  { id: '50x4', label: '50 ws × 4 clients', workspaces: 50, clientsPerWorkspace: 4, window: 4, latency: true },
];
export const LATENCY_HZ = 10;
const SETUP_TIMEOUT_MS = 180_000;

const sizeLabel = (size: number): string => (size >= 1024 ? `${size / 1024} KiB` : `${size} B`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** errorTotal sums every anomaly; any non-zero total fails a scenario. */
export function errorTotal(e: ErrorCounts): number {
  return e.unexpectedClose + e.socketError + e.connectFailed + e.unexpectedFrame + e.lengthMismatch + e.lost;
}

export function describeErrors(e: ErrorCounts): string {
  const parts = (['unexpectedClose', 'socketError', 'connectFailed', 'unexpectedFrame', 'lengthMismatch', 'lost'] as const)
    .filter((k) => e[k] > 0)
    .map((k) => `${k}=${e[k]}`);
  const statuses = Object.entries(e.statusFrames).map(([code, n]) => `${code}×${n}`);
  return `${parts.join(' ')}${statuses.length ? ` statuses: ${statuses.join(', ')}` : ''}; first: ${e.firstError}`;
}

export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** TrafficSample is one measured window of traffic. */
export interface TrafficSample {
  framesPerSec: number;
  mbPerSec: number;
  serverCpuUsPerFrame: number;
  serverSystemShare: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
  latency: StopResult['latency'];
  rssGrowthMb: number;
}

/** measureTraffic starts load, measures one window after warm-up, drains, and throws on any anomaly. */
export async function measureTraffic(h: Harness, servers: readonly Server[], load: LoadArgs, windowMs: number): Promise<TrafficSample> {
  await h.loadgen.call('load', load, 10_000);
  await sleep(h.profile.warmupMs);
  const a = await h.loadgen.call<Mark>('mark', { record: load.mode === 'rate' }, 10_000);
  const cpuA = servers.map((s) => sampleProc(s.pid));
  await sleep(windowMs);
  const b = await h.loadgen.call<Mark>('mark', { record: false }, 10_000);
  const cpuB = servers.map((s) => sampleProc(s.pid));
  const stopped = await h.loadgen.call<StopResult>('stop', {}, 90_000);
  if (errorTotal(stopped.errors) > 0) throw new Error(describeErrors(stopped.errors));
  const seconds = (b.atMs - a.atMs) / 1000;
  const frames = b.framesToDaemon + b.framesToClient - a.framesToDaemon - a.framesToClient;
  const bytes = b.bytesToDaemon + b.bytesToClient - a.bytesToDaemon - a.bytesToClient;
  if (frames <= 0) throw new Error('no frames were relayed during the measurement window');
  const serverCpuMs = cpuB.reduce((sum, s, i) => sum + s.cpuMs - cpuA[i]!.cpuMs, 0);
  const serverSystemMs = cpuB.reduce((sum, s, i) => sum + s.systemMs - cpuA[i]!.systemMs, 0);
  const rssGrowth = cpuB.reduce((sum, s, i) => sum + s.rssBytes - cpuA[i]!.rssBytes, 0);
  return {
    framesPerSec: frames / seconds,
    mbPerSec: bytes / 1e6 / seconds,
    serverCpuUsPerFrame: (serverCpuMs * 1000) / frames,
    serverSystemShare: serverCpuMs > 0 ? (100 * serverSystemMs) / serverCpuMs : 0,
    serverCpuPct: (serverCpuMs / 10 / seconds),
    loadgenCpuPct: (b.cpuMs - a.cpuMs) / 10 / seconds,
    latency: stopped.latency,
    rssGrowthMb: rssGrowth / 1e6,
  };
}

export async function setupPopulation(h: Harness, daemonUrl: string, clientUrl: string, workspaces: number, clientsPerWorkspace: number): Promise<void> {
  await h.loadgen.call('setup', { daemonUrl, clientUrl, workspaces, clientsPerWorkspace }, SETUP_TIMEOUT_MS);
}

/** teardown closes the population; a failure here means the load generator is unusable, so it propagates. */
export async function teardown(h: Harness): Promise<ErrorCounts> {
  return h.loadgen.call<ErrorCounts>('teardown', {}, 60_000);
}

function addTraffic(s: ScenarioResult, variant: string, t: TrafficSample, size: number): void {
  const small = size < 1024;
  const cpuTarget: Target = { kind: 'ratio', op: '<=', value: small ? 1.2 : 1.4 };
  const tpTarget: Target = { kind: 'ratio', op: '>=', value: small ? 0.85 : 0.75 };
  addSample(s, variant, 'throughput', 'frames/s', t.framesPerSec, 0, tpTarget);
  addSample(s, variant, 'throughput', 'MB/s', t.mbPerSec, 1);
  addSample(s, variant, 'server CPU per relayed frame', 'µs', t.serverCpuUsPerFrame, 2, cpuTarget);
  addSample(s, variant, 'server CPU in the kernel', '% of its CPU', t.serverSystemShare, 0);
  addSample(s, variant, 'server CPU', '% of a core', t.serverCpuPct, 0);
  addSample(s, variant, 'load generator CPU', '% of a core', t.loadgenCpuPct, 0);
}

function addLatency(s: ScenarioResult, variant: string, t: TrafficSample, size: number): void {
  if (!t.latency) throw new Error('no round trips were recorded');
  const small = size < 1024;
  addSample(s, variant, 'round trip p50', 'ms', t.latency.p50, 2, { kind: 'ratio', op: '<=', value: 1.2 });
  addSample(s, variant, 'round trip p90', 'ms', t.latency.p90, 2);
  addSample(s, variant, 'round trip p99', 'ms', t.latency.p99, 2, { kind: 'ratio', op: '<=', value: small ? 1.5 : 2 });
  addSample(s, variant, 'round trip max', 'ms', t.latency.max, 2);
  addSample(s, variant, 'round trips measured', 'count', t.latency.count, 0);
  addSample(s, variant, 'server CPU', '% of a core', t.serverCpuPct, 0);
  addSample(s, variant, 'load generator CPU', '% of a core', t.loadgenCpuPct, 0);
}

/**
 * runTraffic runs throughput (closed loop, both sizes, both topologies) and
 * latency (50×4 at 10 frames/s per client) against the relay and the bare
 * forwarder, alternating which goes first each round.
 */
export async function runTraffic(h: Harness, relay: Server, bare: Server): Promise<ScenarioResult[]> {
  const variants = ['relay', 'bare'];
  const tp = new Map<string, ScenarioResult>();
  const lat = new Map<string, ScenarioResult>();
  const f = h.traffic;
  const sizes = SIZES.filter((x) => !f.sizes || f.sizes.includes(x));
  const topologies = TOPOLOGIES.filter((t) => !f.topologies || f.topologies.includes(t.id));
  for (const topo of topologies) {
    for (const size of sizes) {
      if (f.throughput) tp.set(`${topo.label}/${size}`, newScenario(`throughput ${sizeLabel(size)}, ${topo.label}, closed loop`, variants));
      if (topo.latency && f.latency) lat.set(`${topo.label}/${size}`, newScenario(`latency ${sizeLabel(size)}, ${topo.label}, ${LATENCY_HZ} frames/s per client`, variants));
    }
  }
  for (let round = 0; round < h.profile.rounds; round++) {
    const order = round % 2 === 0 ? [relay, bare] : [bare, relay];
    for (const server of order) {
      for (const topo of topologies) {
        const runs: { s: ScenarioResult; size: number; load: LoadArgs; ms: number; latency: boolean }[] = [];
        if (f.throughput) for (const size of sizes) runs.push({ s: tp.get(`${topo.label}/${size}`)!, size, load: { mode: 'closed', window: topo.window, size }, ms: h.profile.measureMs, latency: false });
        if (topo.latency && f.latency) {
          for (const size of sizes) runs.push({ s: lat.get(`${topo.label}/${size}`)!, size, load: { mode: 'rate', hz: LATENCY_HZ, size }, ms: h.profile.latencyMs, latency: true });
        }
        if (runs.length === 0) continue; // e.g. --no-throughput and a topology without latency runs
        h.log(`round ${round + 1}/${h.profile.rounds}: ${server.label}, ${topo.label}`);
        try {
          await setupPopulation(h, server.wsUrl, server.wsUrl, topo.workspaces, topo.clientsPerWorkspace);
        } catch (err) {
          for (const r of runs) fail(r.s, `${server.label}: set-up failed: ${message(err)}`);
          await teardown(h);
          continue;
        }
        for (const r of runs) {
          if (r.s.status !== 'ok') continue;
          try {
            const t = await measureTraffic(h, [server], r.load, r.ms);
            if (r.latency) addLatency(r.s, server.kind, t, r.size);
            else addTraffic(r.s, server.kind, t, r.size);
          } catch (err) {
            fail(r.s, `${server.label}: ${message(err)}\n${server.tail()}`);
            break; // the population may hold stray frames now; the next scenario gets a fresh one next round
          }
        }
        const closeErrors = await teardown(h);
        if (errorTotal(closeErrors) > 0) for (const r of runs) fail(r.s, `${server.label}: ${describeErrors(closeErrors)}`);
      }
    }
  }
  return [...tp.values(), ...lat.values()];
}

/** runConnectRate measures upgrades/s including admission: relay in JWKS mode and in remote mode, bare as the yardstick. */
export async function runConnectRate(h: Harness, relayJwks: Server, bare: Server): Promise<ScenarioResult[]> {
  const jwks = newScenario(`connection set-up, JWKS admission, ${h.profile.connectCount} clients, ${h.profile.connectConcurrency} in flight`, ['relay', 'bare']);
  const remote = newScenario(`connection set-up, remote admission (fake platform), ${h.profile.connectCount} clients, ${h.profile.connectConcurrency} in flight`, ['relay', 'bare']);
  let relayRemote: Server;
  try {
    relayRemote = await h.startRelay({ label: 'relay-remote', admission: 'remote' });
  } catch (err) {
    fail(remote, message(err));
    return [jwks, remote];
  }
  const targets: { server: Server; into: ScenarioResult[] }[] = [
    { server: relayJwks, into: [jwks] },
    { server: relayRemote, into: [remote] },
    { server: bare, into: [jwks, remote] },
  ];
  try {
    for (let round = 0; round < h.profile.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const { server, into } of order) {
        h.log(`round ${round + 1}/${h.profile.rounds}: connection set-up, ${server.label}`);
        const before = sampleProc(server.pid);
        const r = await h.loadgen.call<ConnectRateResult>('connectRate', { url: server.wsUrl, count: h.profile.connectCount, concurrency: h.profile.connectConcurrency }, 120_000);
        const after = sampleProc(server.pid);
        for (const s of into) {
          if (errorTotal(r.errors) > 0 || r.opened !== h.profile.connectCount) {
            fail(s, `${server.label}: opened ${r.opened}/${h.profile.connectCount}; ${describeErrors(r.errors)}\n${server.tail()}`);
            continue;
          }
          addSample(s, server.kind, 'upgrades', '/s', (r.opened * 1000) / r.elapsedMs, 0);
          addSample(s, server.kind, 'server CPU per upgrade (incl. close)', 'ms', (after.cpuMs - before.cpuMs) / r.opened, 3);
        }
      }
    }
  } finally {
    await relayRemote.stop();
  }
  return [jwks, remote];
}

/**
 * runIdleMemory measures RSS per connection: fresh server, start-up RSS, then
 * daemons and clients holding sessions, (RSS with them - RSS without) / connections.
 * Read twice: as the set-up burst left it, and after a full garbage collection
 * on both sides (GC_SIGNAL), which is the memory the connections retain. V8
 * only shrinks a young generation grown by the burst after a GC in a quiet
 * period (its memory reducer, 10-60 s later here, not reliably within a run),
 * so without it the figure mostly measures the burst. The target applies to
 * the retained figure.
 */
export async function runIdleMemory(h: Harness): Promise<ScenarioResult> {
  const { memoryDaemons: daemons, memoryClientsPerDaemon: perDaemon } = h.profile;
  const connections = daemons * (1 + perDaemon);
  const s = newScenario(`idle memory, ${daemons} daemons + ${daemons * perDaemon} clients holding sessions`, ['relay', 'bare']);
  for (let round = 0; round < h.profile.memoryRounds && s.status === 'ok'; round++) {
    const kinds = round % 2 === 0 ? (['relay', 'bare'] as const) : (['bare', 'relay'] as const);
    for (const kind of kinds) {
      h.log(`round ${round + 1}/${h.profile.memoryRounds}: idle memory, ${kind}`);
      let server: Server;
      try {
        server = kind === 'relay' ? await h.startRelay({ label: 'relay-memory', admission: 'jwks' }) : await startBare('bare-memory');
      } catch (err) {
        fail(s, message(err));
        return s;
      }
      try {
        await sleep(1000);
        const startUp = sampleProc(server.pid).rssBytes;
        const startUpCollected = await collectedRss(server, h.profile.memorySettleMs);
        await setupPopulation(h, server.wsUrl, server.wsUrl, daemons, perDaemon);
        const held = await settledRss(server.pid, h.profile.memorySettleMs);
        const heldCollected = await collectedRss(server, h.profile.memorySettleMs);
        h.log(
          `${server.label}: RSS ${(startUp / 1e6).toFixed(1)} MB at start-up, ${(held / 1e6).toFixed(1)} MB holding ${connections} connections; after a full GC ${(startUpCollected / 1e6).toFixed(1)} and ${(heldCollected / 1e6).toFixed(1)} MB`,
        );
        if (h.profile.memoryHoldMs > 0) {
          h.log(`${server.label} (pid ${server.pid}): holding the connections for ${h.profile.memoryHoldMs} ms`);
          await sleep(h.profile.memoryHoldMs);
        }
        const closeErrors = await teardown(h);
        if (errorTotal(closeErrors) > 0) throw new Error(describeErrors(closeErrors));
        addSample(s, kind, 'start-up RSS', 'MB', startUp / 1e6, 1, { kind: 'absolute', op: '<=', value: 100 });
        addSample(s, kind, 'RSS holding the connections', 'MB', held / 1e6, 1);
        addSample(s, kind, 'RSS per connection, as set up', 'KiB', (held - startUp) / 1024 / connections, 2);
        addSample(s, kind, 'start-up RSS after a full GC', 'MB', startUpCollected / 1e6, 1);
        addSample(s, kind, 'RSS holding the connections after a full GC', 'MB', heldCollected / 1e6, 1);
        addSample(s, kind, 'RSS per connection, retained', 'KiB', (heldCollected - startUpCollected) / 1024 / connections, 2, {
          kind: 'absolute',
          op: '<=',
          value: 8,
        });
      } catch (err) {
        fail(s, `${server.label}: ${message(err)}\n${server.tail()}`);
        await teardown(h);
      } finally {
        await server.stop();
      }
    }
  }
  return s;
}

/**
 * runCrossRelay measures the redis backplane path: daemons on relay A, their
 * clients on relay B, against all of them on one relay, alternating. The
 * relays under test link to each other directly (peer links, as the operator
 * runs them); a second pair without links shows the streams-only path in the
 * same run. It is "unavailable" (not failed) when the relay cannot run in
 * redis mode at all.
 */
export async function runCrossRelay(h: Harness, single: Server): Promise<ScenarioResult[]> {
  const variants = ['cross-relay', 'single relay', STREAMS_ONLY];
  const tp = SIZES.map((size) => ({ size, s: newScenario(`cross-relay throughput ${sizeLabel(size)}, 50 ws × 4 clients, redis mode with peer links, closed loop`, variants) }));
  const lat = newScenario(`cross-relay latency 256 B, 50 ws × 4 clients, redis mode with peer links, ${LATENCY_HZ} frames/s per client`, variants);
  // --no-throughput / --no-latency narrow this scenario as they narrow the traffic one.
  const all = [...(h.traffic.throughput ? tp.map((x) => x.s) : []), ...(h.traffic.latency ? [lat] : [])];
  const servers: Server[] = [];
  let stopRedis: (() => Promise<void>) | undefined;
  try {
    try {
      const redis = await startRedis();
      stopRedis = redis.stop;
      const prefix = `bench:${process.pid}`;
      servers.push(await h.startRelay({ label: 'relay-a', admission: 'jwks', redis: { url: redis.url, relayId: 'bench-relay-a', prefix, peerLinks: true } }));
      servers.push(await h.startRelay({ label: 'relay-b', admission: 'jwks', redis: { url: redis.url, relayId: 'bench-relay-b', prefix, peerLinks: true } }));
      servers.push(await h.startRelay({ label: 'relay-c', admission: 'jwks', redis: { url: redis.url, relayId: 'bench-relay-c', prefix } }));
      servers.push(await h.startRelay({ label: 'relay-d', admission: 'jwks', redis: { url: redis.url, relayId: 'bench-relay-d', prefix } }));
    } catch (err) {
      for (const s of all) markUnavailable(s, `redis mode did not start: ${message(err)}`);
      return all;
    }
    const [a, b, c, d] = servers as [Server, Server, Server, Server];
    const pairs = { cross: [a, b], streams: [c, d], single: [single, single] } as const;
    for (let round = 0; round < h.profile.crossRounds; round++) {
      const order = round % 2 === 0 ? (['cross', 'single', 'streams'] as const) : (['streams', 'single', 'cross'] as const);
      for (const which of order) {
        const variant = which === 'cross' ? 'cross-relay' : which === 'streams' ? STREAMS_ONLY : 'single relay';
        const [daemonSide, clientSide] = pairs[which];
        const measured = which === 'single' ? [single] : [daemonSide, clientSide];
        h.log(`round ${round + 1}/${h.profile.crossRounds}: ${variant}`);
        try {
          await setupPopulation(h, daemonSide.wsUrl, clientSide.wsUrl, 50, 4);
        } catch (err) {
          await teardown(h);
          const text = message(err);
          // No session at all across relays means the backplane route does not exist in this build.
          if (which !== 'single' && round === 0 && /no session|DAEMON_UNAVAILABLE/.test(text)) {
            for (const s of all) markUnavailable(s, `no cross-relay route (clients on B never reached daemons on A): ${text}\n${clientSide.tail()}`);
            return all;
          }
          for (const s of all) fail(s, `${variant}: set-up failed: ${text}`);
          return all;
        }
        try {
          for (const { size, s } of h.traffic.throughput ? tp : []) {
            const t = await measureTraffic(h, measured, { mode: 'closed', window: 4, size }, h.profile.measureMs);
            addSample(s, variant, 'throughput', 'frames/s', t.framesPerSec, 0);
            addSample(s, variant, 'throughput', 'MB/s', t.mbPerSec, 1);
            addSample(s, variant, 'relay CPU per relayed frame (all relays)', 'µs', t.serverCpuUsPerFrame, 2);
            addSample(s, variant, 'load generator CPU', '% of a core', t.loadgenCpuPct, 0);
          }
          if (h.traffic.latency) {
            const t = await measureTraffic(h, measured, { mode: 'rate', hz: LATENCY_HZ, size: 256 }, h.profile.latencyMs);
            addLatencyOnly(lat, variant, t);
            addSample(lat, variant, 'relay RSS growth during the window (all relays)', 'MB', t.rssGrowthMb, 1);
          }
        } catch (err) {
          for (const s of all) fail(s, `${variant}: ${message(err)}\n${measured.map((m) => m.tail()).join('\n')}`);
        }
        const closeErrors = await teardown(h);
        if (errorTotal(closeErrors) > 0) for (const s of all) fail(s, `${variant}: ${describeErrors(closeErrors)}`);
        if (all.some((s) => s.status === 'failed')) return all;
      }
      if (h.traffic.latency) {
        addAdded(lat, 'cross-relay', 'p50', { kind: 'absolute', op: '<', value: 2 });
        addAdded(lat, 'cross-relay', 'p99', { kind: 'absolute', op: '<=', value: 3 });
        addAdded(lat, STREAMS_ONLY, 'p50');
        addAdded(lat, STREAMS_ONLY, 'p99');
      }
    }
    return all;
  } finally {
    for (const s of servers) await s.stop();
    await stopRedis?.();
  }
}

/** collectedRss asks the server for a full garbage collection and returns its settled RSS afterwards. */
async function collectedRss(server: Server, maxMs: number): Promise<number> {
  process.kill(server.pid, GC_SIGNAL);
  await sleep(500);
  return settledRss(server.pid, maxMs);
}

/**
 * settledRss waits for the set-up garbage to be collected: it samples RSS
 * every 250 ms and returns once it has stayed within 1% for 2 s (or at
 * maxMs), reading the lowest recent value so a transient peak never counts.
 */
async function settledRss(pid: number, maxMs: number): Promise<number> {
  const window: number[] = [];
  const until = Date.now() + maxMs;
  for (;;) {
    window.push(sampleProc(pid).rssBytes);
    if (window.length > 8) window.shift();
    const lo = Math.min(...window);
    if ((window.length === 8 && Math.max(...window) - lo <= lo * 0.01) || Date.now() >= until) return lo;
    await sleep(250);
  }
}

function addLatencyOnly(s: ScenarioResult, variant: string, t: TrafficSample): void {
  if (!t.latency) throw new Error('no round trips were recorded');
  addSample(s, variant, 'round trip p50', 'ms', t.latency.p50, 2);
  addSample(s, variant, 'round trip p90', 'ms', t.latency.p90, 2);
  addSample(s, variant, 'round trip p99', 'ms', t.latency.p99, 2);
  addSample(s, variant, 'round trip max', 'ms', t.latency.max, 2);
}

/** STREAMS_ONLY names the cross-relay pair without peer links (informational: no target). */
const STREAMS_ONLY = 'streams only';

// The added latency of the backplane: this round's cross-relay percentile minus the single relay's.
function addAdded(s: ScenarioResult, variant: string, pct: 'p50' | 'p99', target?: Target): void {
  const m = s.metrics.find((x) => x.name === `round trip ${pct}`);
  const cross = m?.samples[variant];
  const single = m?.samples['single relay'];
  if (!cross?.length || !single?.length || cross.length !== single.length) return;
  const added = cross[cross.length - 1]! - single[single.length - 1]!;
  addSample(s, variant, `added ${pct} over single relay`, 'ms', added, 2, target);
}
