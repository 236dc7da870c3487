// Issue 22 item 4: the worker tunnel is bounded. One worker asks a real relay
// process for 100 large, slow platform responses at once (the fake platform
// serves 3.5 MiB after 1.5 s). The relay used to forward all of them and grow
// from 91 MiB to 1 GiB buffering the responses; now at most
// RELAY_WORKER_MAX_IN_FLIGHT reach the platform, the rest are answered 503
// WORKER_TRANSPORT_BUSY at once (counted), and the relay's RSS stays bounded.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { startFakeIssuer, type FakeIssuer } from '../fake-issuer.js';
import { workerRequest } from '../frame-fixtures.js';
import { connectPeer } from '../relay-harness.js';
import { startRelayProcess, type RelayProcess } from '../multi-relay/relay-process.js';
import { report } from './long-run.js';
import { mib, rssBytes, sampler } from './process-stats.js';

vi.setConfig({ testTimeout: 120_000 });

const PATH = '/api/runtime/workspaces/w1/managed-executors/m1/artifact';
const BODY_BYTES = 3.5 * (1 << 20);
const REQUESTS = 100;
const IN_FLIGHT = 8;
// 8 responses of 3.5 MiB, held as a buffer, a string and a frame at worst, plus the runtime's slack.
const RSS_GROWTH_BOUND = 200 * (1 << 20);

let platform: FakePlatform;
let issuer: FakeIssuer;
let relay: RelayProcess;
let inFlight = 0;
let peakInFlight = 0;

beforeAll(async () => {
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'ES256');
  const body = 'x'.repeat(BODY_BYTES);
  platform.route('GET', PATH, async () => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 1500));
    inFlight--;
    return { body };
  });
  relay = await startRelayProcess('worker-tunnel', {
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    SERVER_URL: platform.url,
    RELAY_WORKER_MAX_IN_FLIGHT: String(IN_FLIGHT),
    // The daemon/worker limiter is not under test.
    RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: '100000',
  });
}, 60_000);

afterAll(async () => {
  await relay?.kill();
  await platform?.close();
});

describe('worker tunnel bounds', () => {
  it(`${REQUESTS} concurrent large requests from one worker: at most ${IN_FLIGHT} reach the platform, the rest get 503 at once, RSS stays bounded`, async () => {
    const worker = await connectPeer(relay.wsUrl, { role: 'worker', workspaceId: 'w1', token: await issuer.mint({ role: 'worker', workspaceId: 'w1', managedExecutorId: 'm1' }) });
    const statuses = new Map<string, { status: number; reason?: string; detail?: string }>();
    worker.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { requestId: string; status: number; body: string };
      const body = m.status === 200 ? {} : (JSON.parse(m.body) as { reason?: string; detail?: string });
      statuses.set(m.requestId, { status: m.status, ...body });
    });
    const before = rssBytes(relay.pid);
    const rss = sampler(relay.pid, 50);
    const started = Date.now();
    for (let i = 0; i < REQUESTS; i++) worker.send(workerRequest(`r${i}`, PATH));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (statuses.size === REQUESTS) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() - started > 60_000) {
          clearInterval(timer);
          reject(new Error(`only ${statuses.size} of ${REQUESTS} replies`));
        }
      }, 50);
    });
    rss.stop();
    const replies = [...statuses.values()];
    const ok = replies.filter((r) => r.status === 200).length;
    const busy = replies.filter((r) => r.status === 503 && r.reason === 'WORKER_TRANSPORT_BUSY');
    report(`worker tunnel: ${ok} forwarded, ${busy.length} refused busy, platform peak ${peakInFlight} in flight; relay RSS ${mib(before)} → peak ${mib(rss.peak())}`);
    expect(peakInFlight).toBeLessThanOrEqual(IN_FLIGHT);
    expect(ok + busy.length).toBe(REQUESTS);
    expect(ok).toBeGreaterThanOrEqual(IN_FLIGHT);
    expect(busy[0]?.detail).toBe('in_flight');
    expect(await relay.metric('relay_worker_transport_busy_total')).toBe(busy.length);
    expect(rss.peak() - before).toBeLessThan(RSS_GROWTH_BOUND);
    worker.ws.close();
  });
});
