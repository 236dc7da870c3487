// Compares three ways to carry bus frames between relays over Redis, on a
// local redis-server this script starts: per-relay Streams (XADD/XREAD BLOCK,
// what the redis adapter uses), per-relay lists (RPUSH/BLPOP, the reference)
// and pub/sub (the public doc). Prints throughput, latency and how many frames
// each loses when the consumer's connection is killed mid-stream.
// A second table runs the real redis adapter end to end (signing, XADD,
// XREAD, verification) from relay/dist, when it has been built.
// Run: npm run build -w relay && node_modules/.bin/node bench/micro/backplane.bench.ts   (Node 22 strips the types)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { BusFrame } from '../../relay/src/backplane/backplane.ts';
import { silentLogger } from '@viewport/log';

const BURST = 20_000;
const PACED = 2_000;
const LOSS_RUN = 1_000;
const PADDING = 'x'.repeat(512);
// Above BURST, so the burst measures speed, not trimming.
const CAP = '100000';

interface Transport {
  readonly name: string;
  send(message: string): Promise<unknown>;
  start(onMessage: (message: string) => void): Promise<void>;
  close(): void;
}

function connection(port: number, name: string): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', connectionName: name, retryStrategy: () => 20,
    // Reject in-flight commands when the socket drops, as the adapter does; otherwise
    // ioredis silently discards them on reconnect and a blocked reader hangs.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  });
  redis.on('error', () => {});
  return redis;
}

/** readingTransport runs a consumer loop that repeatedly calls read on its own connection. */
function readingTransport(
  port: number,
  name: string,
  send: (producer: Redis, message: string) => Promise<unknown>,
  read: (consumer: Redis) => Promise<string[]>,
): Transport {
  const producer = connection(port, 'producer');
  const consumer = connection(port, 'consumer');
  let closed = false;
  return {
    name,
    send: (m) => send(producer, m),
    async start(onMessage) {
      void (async () => {
        while (!closed) {
          try {
            for (const m of await read(consumer)) onMessage(m);
          } catch {
            await delay(5);
          }
        }
      })();
    },
    close() {
      closed = true;
      producer.disconnect();
      consumer.disconnect();
    },
  };
}

function streams(port: number, key: string): Transport {
  let lastId = '0-0';
  return readingTransport(
    port,
    'streams (XADD MAXLEN~ / XREAD BLOCK)',
    // The adapter's publish: one XADD (it refreshes the stream's expiry at most every 15 s).
    (producer, m) => producer.xadd(key, 'MAXLEN', '~', CAP, '*', 'f', m),
    async (consumer) => {
      const res = (await consumer.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', key, lastId)) as [string, [string, string[]][]][] | null;
      const out: string[] = [];
      for (const [, entries] of res ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          out.push(fields[1] ?? '');
        }
      }
      return out;
    },
  );
}

function lists(port: number, key: string): Transport {
  return readingTransport(
    port,
    'lists (RPUSH+LTRIM / BLPOP+LPOP)',
    (producer, m) => producer.multi().rpush(key, m).ltrim(key, -Number(CAP), -1).exec(),
    async (consumer) => {
      const first = await consumer.blpop(key, 1);
      if (!first) return [];
      return [first[1], ...((await consumer.lpop(key, 499)) ?? [])];
    },
  );
}

function pubsub(port: number, key: string): Transport {
  const producer = connection(port, 'producer');
  const consumer = connection(port, 'consumer');
  return {
    name: 'pub/sub (PUBLISH / SUBSCRIBE)',
    send: (m) => producer.publish(key, m),
    async start(onMessage) {
      consumer.on('message', (_channel: string, m: string) => onMessage(m));
      await consumer.subscribe(key);
    },
    close() {
      producer.disconnect();
      consumer.disconnect();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return true;
    await delay(2);
  }
  return check();
}

async function measure(make: (key: string) => Transport, admin: Redis) {
  // Burst throughput: everything sent pipelined, timed until the last arrives.
  let burstSeen = 0;
  const burst = make('bench:burst');
  await burst.start(() => (burstSeen += 1));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => burst.send(`${i}|${PADDING}`)));
  await until(() => burstSeen >= BURST, 30_000);
  const burstPerSec = Math.round(burstSeen / ((performance.now() - t0) / 1000));
  burst.close();

  // Paced latency: one frame per millisecond, one-way time per frame.
  const latencies: number[] = [];
  const paced = make('bench:paced');
  await paced.start((m) => latencies.push(performance.now() - Number(m.split('|')[0])));
  for (let i = 0; i < PACED; i += 1) {
    await paced.send(`${performance.now()}|${PADDING}`);
    await delay(1);
  }
  await until(() => latencies.length >= PACED, 10_000);
  paced.close();
  latencies.sort((a, b) => a - b);

  // Loss: kill the consumer's connection a third of the way through a paced run.
  const seen = new Set<number>();
  const lossy = make('bench:loss');
  await lossy.start((m) => seen.add(Number(m.split('|')[0])));
  for (let i = 0; i < LOSS_RUN; i += 1) {
    if (i === Math.floor(LOSS_RUN / 3)) {
      const list = String(await admin.call('CLIENT', 'LIST'));
      const id = /id=(\d+) [^\n]*name=consumer/.exec(list)?.[1];
      if (id) await admin.call('CLIENT', 'KILL', 'ID', id);
    }
    await lossy.send(`${i}|${PADDING}`);
    await delay(1);
  }
  await until(() => seen.size >= LOSS_RUN, 3000);
  lossy.close();
  await admin.flushall();
  return { burstPerSec, p50: percentile(latencies, 50), p99: percentile(latencies, 99), lost: LOSS_RUN - seen.size };
}

type BackplaneModule = typeof import('../../relay/src/backplane/index.ts');

/** adapterEndToEnd measures the redis adapter itself: publish on one relay to delivery on another. */
async function adapterEndToEnd(port: number): Promise<void> {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'relay', 'dist', 'backplane', 'index.js');
  if (!existsSync(dist)) {
    console.log('(adapter end to end skipped: build relay/dist first)');
    return;
  }
  const { createBackplane } = (await import(dist)) as BackplaneModule;
  const options = (relayId: string) => ({
    mode: 'redis' as const,
    relayId,
    relayWsBaseUrl: `ws://${relayId}.test/ws`,
    busHmacKey: 'bench-bus-hmac-key-0123456789',
    busSignatureMaxSkewMs: 15_000,
    busFreshnessTrackMax: 20_000,
    maxFrameBytes: 1 << 20,
    presenceTtlMs: 45_000,
    presenceResolveCacheMax: 100,
    redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: 'bench', connectTimeoutMs: 2000, queueMax: 100_000 },
  });
  const deps = () => ({ registry: new Registry(), log: silentLogger, now: Date.now });
  const a = createBackplane(options('bench-a'), deps());
  const b = createBackplane(options('bench-b'), deps());
  const latencies: number[] = [];
  let seen = 0;
  await a.start(() => {});
  await b.start((frame) => {
    seen += 1;
    const sentAt = Number(frame.payload.split('|')[0]);
    if (sentAt > 0) latencies.push(performance.now() - sentAt);
  });
  const frame = (payload: string): BusFrame => ({
    workspaceId: 'w',
    runtimeTargetId: 'r',
    sourceRelayId: 'bench-a',
    targetRelayId: 'bench-b',
    direction: 'client_to_daemon',
    payload,
  });
  try {
    const t0 = performance.now();
    // Payloads differ: identical frames signed in the same millisecond are indistinguishable from replays.
    await Promise.all(Array.from({ length: BURST }, (_, i) => a.publish(frame(`0|${i}|${PADDING}`))));
    await until(() => seen >= BURST, 30_000);
    const perSec = Math.round(seen / ((performance.now() - t0) / 1000));
    for (let i = 0; i < PACED; i += 1) {
      await a.publish(frame(`${performance.now()}|${PADDING}`));
      await delay(1);
    }
    await until(() => latencies.length >= PACED, 10_000);
    latencies.sort((x, y) => x - y);
    console.log(`redis adapter end to end (HMAC sign + verify) | ${String(perSec).padStart(6)} frames/s | p50 ${percentile(latencies, 50).toFixed(2)} ms | p99 ${percentile(latencies, 99).toFixed(2)} ms`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function main(): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const admin = connection(port, 'admin');
  try {
    await until(() => admin.status === 'ready', 10_000);
    console.log(`redis-server on 127.0.0.1:${port}; ${BURST} burst frames, ${PACED} paced frames, ${LOSS_RUN}-frame loss run, 512 B payloads`);
    console.log('transport                              | burst frames/s | p50 ms | p99 ms | lost on consumer reconnect');
    for (const make of [streams, lists, pubsub]) {
      const name = make(port, 'bench:name');
      name.close();
      const r = await measure((key) => make(port, key), admin);
      console.log(
        `${name.name.padEnd(38)} | ${String(r.burstPerSec).padStart(14)} | ${r.p50.toFixed(2).padStart(6)} | ${r.p99.toFixed(2).padStart(6)} | ${r.lost} of ${LOSS_RUN}`,
      );
    }
    await adapterEndToEnd(port);
  } finally {
    admin.disconnect();
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
