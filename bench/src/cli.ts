// npm run bench [-- --quick] [-- --json] [-- --only=traffic,connect,memory,cross,noisy-neighbour] [-- --cpu-prof]
// Starts the fake platform, the load generator, the relay and the bare
// forwarder as separate processes on 127.0.0.1, runs the scenarios, prints
// the table (or JSON), and exits non-zero if any scenario failed. Every child
// is killed on exit, on SIGINT/SIGTERM, on an uncaught error, and when the
// profile's deadline passes.
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BUSY_OTHER_PERCENT, markCpu, otherCpuBetween } from './machine-cpu.js';
import { forkTracked, killAll, livePids } from './procs.js';
import { FULL, QUICK, type Profile } from './profiles.js';
import { formatTable, type ScenarioResult, toJson } from './results.js';
import { RpcClient } from './rpc.js';
import { runNoisyNeighbour } from './noisy-scenario.js';
import { runConnectRate, runCrossRelay, runIdleMemory, runTraffic, type Harness, type TrafficFilter } from './scenarios.js';
import { relayImageNodeFlags } from './image-flags.js';
import { type Platform, setRelayNodeFlags, setServerNodeFlags, startBare, startRelay } from './servers.js';
import { type TokenKey, tokenMinter } from './tokens.js';

const SCENARIO_GROUPS = ['traffic', 'connect', 'memory', 'cross', 'noisy-neighbour'] as const;
type Group = (typeof SCENARIO_GROUPS)[number];

interface Options {
  profile: Profile;
  json: boolean;
  only: Set<Group>;
  cpuProfDir: string | undefined;
  selfTest: boolean;
  selfTestParse: boolean;
  traffic: TrafficFilter;
}

function parseArgs(argv: readonly string[]): Options {
  let profile = FULL;
  let json = false;
  let only = new Set<Group>(SCENARIO_GROUPS);
  let cpuProfDir: string | undefined;
  let selfTest = false;
  let selfTestParse = false;
  let rounds: number | undefined;
  let memoryHoldMs = 0;
  const traffic: TrafficFilter = { throughput: true, latency: true };
  for (const arg of argv) {
    if (arg === '--quick') profile = QUICK;
    else if (arg === '--full') profile = FULL;
    else if (arg === '--json') json = true;
    else if (arg === '--self-test') selfTest = true;
    else if (arg === '--self-test-parse') selfTest = selfTestParse = true;
    else if (arg.startsWith('--sizes=')) traffic.sizes = arg.slice('--sizes='.length).split(',').map(Number);
    else if (arg.startsWith('--topologies=')) traffic.topologies = arg.slice('--topologies='.length).split(',');
    else if (arg === '--no-latency') traffic.latency = false;
    else if (arg === '--no-throughput') traffic.throughput = false;
    else if (arg.startsWith('--node-flags=')) setServerNodeFlags(arg.slice('--node-flags='.length).split(' ').filter(Boolean));
    else if (arg.startsWith('--relay-node-flags=')) setRelayNodeFlags(arg.slice('--relay-node-flags='.length).split(' ').filter(Boolean));
    else if (arg.startsWith('--memory-hold-ms=')) memoryHoldMs = Number(arg.slice('--memory-hold-ms='.length));
    else if (arg.startsWith('--rounds=')) rounds = Number(arg.slice('--rounds='.length));
    else if (arg === '--cpu-prof') cpuProfDir = fileURLToPath(new URL('../profiles/', import.meta.url));
    else if (arg.startsWith('--only=')) {
      const names = arg.slice('--only='.length).split(',');
      const unknown = names.filter((n) => !(SCENARIO_GROUPS as readonly string[]).includes(n));
      if (unknown.length) throw new Error(`unknown scenario group(s) ${unknown.join(', ')}; known: ${SCENARIO_GROUPS.join(', ')}`);
      only = new Set(names as Group[]);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick|--full] [--json] [--only=traffic,connect,memory,cross,noisy-neighbour] [--rounds=N] [--sizes=256,16384] [--topologies=1x1,50x4] [--no-latency] [--no-throughput] [--memory-hold-ms=N] [--node-flags="--flag ..."] [--relay-node-flags="--flag ..."] [--cpu-prof] [--self-test | --self-test-parse]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  if (memoryHoldMs > 0) profile = { ...profile, memoryHoldMs };
  if (rounds !== undefined) {
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
    profile = { ...profile, rounds, memoryRounds: Math.min(profile.memoryRounds, rounds), crossRounds: Math.min(profile.crossRounds, rounds) };
  }
  return { profile, json, only, cpuProfDir, selfTest, selfTestParse, traffic };
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function installCleanup(deadlineMs: number): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping every child`);
      killAll();
      process.exit(130);
    });
  }
  const die = (err: unknown): void => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAll();
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  setTimeout(() => die(new Error(`run exceeded its ${deadlineMs / 1000} s deadline`)), deadlineMs).unref();
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  installCleanup(opts.profile.deadlineMs);
  if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  const cpuAtStart = markCpu([]);
  log(`profile ${opts.profile.name}: ${[...opts.only].join(', ')}`);

  const dist = fileURLToPath(new URL('.', import.meta.url));
  const platformRpc = new RpcClient(forkTracked(dist + 'fake-platform.js', [], { PATH: process.env.PATH ?? '' }), 'fake-platform');
  const platformInfo = await platformRpc.ready();
  const loadgenChild = forkTracked(dist + 'loadgen.js', [], { PATH: process.env.PATH ?? '' });
  const loadgen = new RpcClient(loadgenChild, 'loadgen');
  await loadgen.ready();
  await loadgen.call('init', platformInfo, 10_000);
  const platform = platformInfo as unknown as Platform;
  const cpuProf = opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {};
  // --self-test runs the harness with the bare forwarder in the relay's place (and no redis path), to test the harness itself.
  const startRelayUnderTest: Harness['startRelay'] = (o) =>
    opts.selfTest ? (o.redis ? Promise.reject(new Error('self-test has no backplane')) : startBare(`${o.label}(bare${opts.selfTestParse ? '+parse' : ''})`, 'relay', o.label === 'relay' ? opts.cpuProfDir : undefined, opts.selfTestParse)) : startRelay({ ...o, ...(o.label === 'relay' ? cpuProf : {}), platform });
  const mint = await tokenMinter(platformInfo as unknown as TokenKey);
  const h: Harness = { loadgen, loadgenPid: loadgenChild.pid!, platform, profile: opts.profile, startRelay: startRelayUnderTest, mint, traffic: opts.traffic, log };

  const results: ScenarioResult[] = [];
  const relay = await h.startRelay({ label: 'relay', admission: 'jwks' });
  const bare = await startBare();
  log(`relay pid ${relay.pid} on ${relay.port}, bare forwarder pid ${bare.pid} on ${bare.port}, load generator pid ${h.loadgenPid}`);
  try {
    if (opts.only.has('traffic')) results.push(...(await runTraffic(h, relay, bare)));
    if (opts.only.has('connect')) results.push(...(await runConnectRate(h, relay, bare)));
    if (opts.only.has('memory')) results.push(await runIdleMemory(h));
    if (opts.only.has('cross')) results.push(...(await runCrossRelay(h, relay)));
    if (opts.only.has('noisy-neighbour')) results.push(await runNoisyNeighbour(h));
  } finally {
    await relay.stop();
    await bare.stop();
  }

  const cpuAtEnd = markCpu(livePids());
  const other = cpuAtStart && cpuAtEnd ? otherCpuBetween(cpuAtStart, cpuAtEnd) : undefined;
  const meta = {
    profile: opts.profile.name,
    node: process.version,
    // Every server runs with the relay image's Node flags (Dockerfile.relay), plus any --node-flags.
    nodeFlags: relayImageNodeFlags().join(' '),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
    // The 1-minute load average at start and end; it counts the run's own processes too.
    loadAverage: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0]!.toFixed(2)) },
    // The run itself raises the load average; CPU time outside the run's processes is the measure of other work.
    ...(other ? { otherCpu: { percentOfCore: Number(other.otherPercent.toFixed(1)), stealPercentOfCore: Number(other.stealPercent.toFixed(1)) } } : {}),
    date: new Date().toISOString(),
  };
  const failed = results.filter((r) => r.status === 'failed');
  const busy = other ? other.otherPercent + other.stealPercent > BUSY_OTHER_PERCENT : Math.max(meta.loadAverage.start, meta.loadAverage.end) > cpus().length;
  const otherText = other ? `, other work ${other.otherPercent.toFixed(0)}% and steal ${other.stealPercent.toFixed(0)}% of a core` : '';
  const table =
    `viewport relay benchmark: profile ${meta.profile}, ${meta.node} ${meta.nodeFlags}, ${meta.cpus}, ${meta.elapsedSeconds} s, ` +
    `load average ${meta.loadAverage.start} → ${meta.loadAverage.end}${otherText}${busy ? ' (machine busy: other work competes for the cores, expect noise)' : ''}\n` +
    formatTable(results);
  if (opts.json) {
    process.stderr.write(table + '\n');
    process.stdout.write(JSON.stringify(toJson(results, meta), null, 2) + '\n');
  } else {
    process.stdout.write(table + '\n');
  }
  if (failed.length) log(`FAILED: ${failed.length} scenario(s): ${failed.map((f) => f.name).join('; ')}`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAll();
    process.exit(1);
  },
);
