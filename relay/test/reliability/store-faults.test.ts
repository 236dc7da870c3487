// Issue 22, items 3 and 5, against real relay processes and a real
// redis-server: a relay killed mid-traffic loses no client frame silently (each
// is delivered or answered DAEMON_UNAVAILABLE within seconds, not the presence
// TTL), and a flood of 1 MiB frames towards a stalled relay is refused past the
// stream's byte cap, with Redis's memory and the sender's RSS bounded.
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { waitFor, type TestPeer } from '../relay-harness.js';
import type { RelayProcess } from '../multi-relay/relay-process.js';
import { openSessionEventually, redisClient, seqsOf, sequenced, startCluster, statuses, type Cluster } from './cluster.js';
import { report } from './long-run.js';
import { mib, sampler } from './process-stats.js';

vi.setConfig({ testTimeout: 180_000 });

const unavailable = (peer: TestPeer) => statuses(peer, 'DAEMON_UNAVAILABLE').length;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe.each([
  { via: 'on Redis', name: 'liveness', peerLinks: false },
  { via: 'linked directly', name: 'liveness-links', peerLinks: true },
] as const)('kill -9 of the daemon’s relay, relays $via', ({ name, peerLinks }) => {
  it('every client frame is delivered or answered DAEMON_UNAVAILABLE within seconds, long before the presence TTL', async () => {
    // The default presence TTL: without liveness, frames would vanish into the dead relay's stream for 45 s.
    cluster = await startCluster(name, 1, { RELAY_REDIS_PRESENCE_TTL_MS: '45000', RELAY_PRESENCE_SYNC_INTERVAL_MS: '15000' }, { peerLinks });
    const survivor = cluster.relays[0] as RelayProcess;
    const victim = await cluster.startRelay(`${name}-victim`);
    const scope = { workspaceId: `w-${name}`, runtimeTargetId: 't1' };
    const daemon = await cluster.join(victim, { role: 'workspace-daemon', ...scope });
    const client = await cluster.join(survivor, { role: 'client', ...scope, claims: { scope: 'runtime', clientId: 'c' } });
    await openSessionEventually(client, daemon, 's-live', 'a session across the relays');

    let sent = 0;
    const timer = setInterval(() => {
      if (client.ws.readyState !== WebSocket.OPEN) return;
      sent += 1;
      client.send(sequenced('s-live', sent));
    }, 5);
    try {
      await waitFor(() => seqsOf(daemon, 's-live').length >= 100, 15_000, 'traffic flowing');
      const killedAt = Date.now();
      const sentAtKill = sent;
      await victim.kill();
      // Keep sending past the lapse: frames parked in the dead relay's stream, and frames after it.
      let firstAnswerMs = 0;
      await waitFor(() => {
        if (firstAnswerMs === 0 && unavailable(client) > 0) firstAnswerMs = Date.now() - killedAt;
        return firstAnswerMs > 0 && Date.now() - killedAt > 8000;
      }, 30_000, 'DAEMON_UNAVAILABLE after the kill');
      clearInterval(timer);
      const delivered = () => seqsOf(daemon, 's-live').length;
      await waitFor(() => delivered() + unavailable(client) >= sent, 20_000, 'every frame delivered or answered').catch((error: unknown) => {
        throw new Error(`${String(error)}: sent ${sent}, delivered ${delivered()}, answered ${unavailable(client)}`);
      });
      const settledMs = Date.now() - killedAt;
      expect(settledMs).toBeLessThan(30_000);
      report(`kill -9 of the daemon's relay (${peerLinks ? 'peer link' : 'Redis streams'}): ${sent} frames sent (${sent - sentAtKill} after the kill), ${delivered()} delivered, ${unavailable(client)} answered DAEMON_UNAVAILABLE (the first ${firstAnswerMs} ms after the kill), all settled ${settledMs} ms after it`);
    } finally {
      clearInterval(timer);
    }
  });
});

describe('a flood of 1 MiB frames towards a stalled relay', () => {
  it('is refused past the stream’s byte cap, answered DAEMON_UNAVAILABLE, with Redis memory and the sender’s RSS bounded', async () => {
    const CAP = 16 * 1024 * 1024;
    // Only the byte cap may refuse here: the stall must not outlast the liveness
    // lapse or the frames' signature window, and the daemon must take the 16 MiB
    // that are queued at once when the relay resumes.
    cluster = await startCluster('bytes', 2, {
      RELAY_REDIS_QUEUE_MAX_BYTES: String(CAP),
      RELAY_REDIS_PRESENCE_TTL_MS: '30000',
      RELAY_REDIS_LIVENESS_LAPSE_MS: '120000',
      RELAY_BUS_SIGNATURE_MAX_SKEW_MS: '120000',
      RELAY_MAX_PENDING_BYTES: String(4 * CAP),
    });
    const [home, far] = cluster.relays as [RelayProcess, RelayProcess];
    const scope = { workspaceId: 'w-flood', runtimeTargetId: 't1' };
    const daemon = await cluster.join(home, { role: 'workspace-daemon', ...scope });
    const client = await cluster.join(far, { role: 'client', ...scope, claims: { scope: 'runtime', clientId: 'flood' } });
    await openSessionEventually(client, daemon, 's-flood', 'a session across the relays');
    const redis = await redisClient(cluster);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    const baseline = await usedMemory();
    let redisPeak = baseline;
    const redisSampler = setInterval(() => {
      void usedMemory().then((m) => (redisPeak = Math.max(redisPeak, m)), () => undefined);
    }, 50);
    const rss = sampler(far.pid, 50);
    const FRAMES = 80;
    process.kill(home.pid, 'SIGSTOP');
    try {
      for (let seq = 1; seq <= FRAMES; seq++) {
        client.send(sequenced('s-flood', seq, 1_000_000));
        await waitFor(() => client.ws.bufferedAmount < 4 * 1024 * 1024, 10_000, 'the socket to drain');
      }
      // At most 16 entries of 1 MB fit under the 16 MiB cap; the rest must be refused while the relay stalls.
      await waitFor(async () => (await far.metric('relay_bus_publish_refused_bytes_total')) >= FRAMES - 16, 30_000, 'refusals over the byte cap');
    } finally {
      process.kill(home.pid, 'SIGCONT');
      clearInterval(redisSampler);
      rss.stop();
    }
    const refused = await far.metric('relay_bus_publish_refused_bytes_total');
    await waitFor(() => seqsOf(daemon, 's-flood').length + unavailable(client) >= FRAMES, 30_000, 'every frame delivered or answered');
    report(`1 MiB flood towards a stalled relay: ${FRAMES} frames, ${refused} refused over the ${mib(CAP)} stream cap, ${seqsOf(daemon, 's-flood').length} delivered after SIGCONT; Redis used_memory peak ${mib(redisPeak)} (baseline ${mib(baseline)}), sender relay RSS peak ${mib(rss.peak())}`);
    expect(refused).toBeGreaterThan(0);
    // Unbounded, the stalled relay's stream would hold all 80 MiB.
    expect(redisPeak - baseline).toBeLessThan(2 * CAP);
    expect(rss.peak()).toBeLessThan(512 * 1024 * 1024);
    redis.disconnect();
  });
});
