// Issue 11, faults during load: kill -9 of a relay, a Redis restart, a platform
// outage, and a stalled process (SIGSTOP, then SIGCONT). Processes survive and
// stay ready (issue 22 item 6), /ready's body says what is wrong, peers get
// retryable statuses, traffic resumes, and what arrives is never duplicated or
// reordered.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startFakePlatform } from '../fake-platform.js';
import { startFakeIssuer, VALIDATE_PATH } from '../fake-issuer.js';
import { connectPeer, startTestRelay, upgradeStatus, waitFor, type TestPeer } from '../relay-harness.js';
import type { RelayProcess } from '../multi-relay/relay-process.js';
import { openSession, openSessionEventually, range, seqsOf, sequenced, startCluster, statuses, type Cluster } from './cluster.js';
import { report } from './long-run.js';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

/** Stream sends numbered frames on a session every few milliseconds until stopped. */
interface Stream {
  readonly sent: () => number;
  stop(): void;
}
function stream(peer: TestPeer, sessionId: string, everyMs = 5): Stream {
  let seq = 0;
  const timer = setInterval(() => {
    if (peer.ws.readyState !== WebSocket.OPEN) return;
    seq += 1;
    peer.send(sequenced(sessionId, seq));
  }, everyMs);
  return { sent: () => seq, stop: () => clearInterval(timer) };
}

/** expectNoDuplicateOrReorder: what arrived is strictly increasing (gaps only where the sender was told or the receiver was closed). */
function expectNoDuplicateOrReorder(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i] as number).toBeGreaterThan(seqs[i - 1] as number);
}


let cluster: Cluster;
let caseNo = 0;

const relay = (i: number) => cluster.relays[i] as RelayProcess;

async function crossRelayPair(daemonRelay: RelayProcess, clientRelay: RelayProcess): Promise<{ daemon: TestPeer; client: TestPeer; sessionId: string; workspaceId: string }> {
  caseNo += 1;
  const workspaceId = `faults-${caseNo}`;
  const sessionId = `s-${caseNo}`;
  const daemon = await cluster.join(daemonRelay, { role: 'workspace-daemon', workspaceId, runtimeTargetId: 't1' });
  const client = await cluster.join(clientRelay, { role: 'client', workspaceId, runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: `c-${caseNo}` } });
  await openSessionEventually(client, daemon, sessionId, 'cross-relay session');
  return { daemon, client, sessionId, workspaceId };
}

// The relays carry cross-relay frames through their Redis streams, or over peer
// links (direct WebSockets, with Redis carrying only what no link does).
describe.each([
  { via: 'on Redis', name: 'faults', peerLinks: false },
  { via: 'linked directly', name: 'faults-links', peerLinks: true },
] as const)('faults during load, relays $via', ({ name, peerLinks }) => {
  beforeAll(async () => {
    cluster = await startCluster(name, 2, {}, { peerLinks });
  }, 120_000);
  afterAll(async () => cluster?.close());

  it('SIGSTOP of the daemon’s relay mid-stream: frames wait on the backplane and arrive complete and in order after SIGCONT', async () => {
    const { daemon, client, sessionId } = await crossRelayPair(relay(0), relay(1));
    const up = stream(client, sessionId);
    await waitFor(() => seqsOf(daemon, sessionId).length >= 50, 10_000, 'traffic flowing');
    process.kill(relay(0).pid, 'SIGSTOP');
    const stalledAt = up.sent();
    try {
      await waitFor(() => up.sent() >= stalledAt + 200, 10_000, 'client keeps sending while the relay is stalled');
      expect(await relay(1).isReady()).toBe(true);
    } finally {
      process.kill(relay(0).pid, 'SIGCONT');
    }
    await waitFor(() => up.sent() >= stalledAt + 300, 10_000, 'more traffic after SIGCONT');
    up.stop();
    await waitFor(() => seqsOf(daemon, sessionId).length === up.sent(), 20_000, 'every frame delivered');
    expect(seqsOf(daemon, sessionId)).toEqual(range(1, up.sent()));
    expect(await relay(0).isReady()).toBe(true);
    report(`SIGSTOP/SIGCONT of a relay: ${up.sent()} frames, ${up.sent() - stalledAt} sent during and after the stall, all delivered in order`);
  });

  it('SIGSTOP of redis-server mid-stream: relays survive, nothing is duplicated or reordered, traffic resumes', async () => {
    const { daemon, client, sessionId } = await crossRelayPair(relay(0), relay(1));
    const up = stream(client, sessionId);
    await waitFor(() => seqsOf(daemon, sessionId).length >= 50, 10_000, 'traffic flowing');
    const pid = redisPid();
    process.kill(pid, 'SIGSTOP');
    const stalledAt = up.sent();
    try {
      await waitFor(() => up.sent() >= stalledAt + 200, 10_000, 'client keeps sending while Redis is stalled');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumedAt = up.sent();
    await waitFor(() => seqsOf(daemon, sessionId).some((s) => s > resumedAt), 20_000, 'frames sent after SIGCONT arrive');
    up.stop();
    const got = seqsOf(daemon, sessionId);
    expectNoDuplicateOrReorder(got);
    // Anything missing was refused to the sender's face, not dropped silently.
    const missing = up.sent() - got.length;
    await waitFor(() => statuses(client, 'DAEMON_UNAVAILABLE').length >= missing || seqsOf(daemon, sessionId).length === up.sent(), 20_000, 'missing frames accounted for');
    expect(statuses(client, 'DAEMON_UNAVAILABLE').every((s) => s.retryable === true)).toBe(true);
    expect(await relay(0).isReady()).toBe(true);
    expect(await relay(1).isReady()).toBe(true);
    report(`SIGSTOP/SIGCONT of Redis: ${up.sent()} frames sent, ${seqsOf(daemon, sessionId).length} delivered in order, ${statuses(client, 'DAEMON_UNAVAILABLE').length} refused as DAEMON_UNAVAILABLE`);
  });

  // Issue 22 item 6: an outage of the shared store is reported, not a reason to pull every pod from its Service.
  it('Redis restart: /ready stays 200 on every relay and reports the backplane unreachable, local traffic continues, cross-relay frames cross over a live peer link (or are answered DAEMON_UNAVAILABLE without one), then everything resumes', async () => {
    const { daemon, client, sessionId, workspaceId } = await crossRelayPair(relay(0), relay(1));
    const local = await cluster.join(relay(0), { role: 'client', workspaceId, runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: 'local' } });
    await openSession(local, daemon, `${sessionId}-local`);
    if (peerLinks) await waitFor(async () => (await relay(1).metric('relay_bus_peer_links')) >= 1 && (await relay(0).metric('relay_bus_peer_links')) >= 1, 20_000, 'peer links both ways');
    await cluster.redis.stop();
    const readyBody = async (i: number) => {
      const res = await fetch(`${relay(i).httpUrl}/ready`);
      return { status: res.status, body: (await res.json()) as { ok?: boolean; backplane?: string } };
    };
    await waitFor(async () => (await readyBody(0)).body.backplane === 'unreachable' && (await readyBody(1)).body.backplane === 'unreachable', 20_000, '/ready to report the outage on both relays');
    expect(await readyBody(0)).toEqual({ status: 200, body: { ok: true, backplane: 'unreachable' } });
    expect(await readyBody(1)).toEqual({ status: 200, body: { ok: true, backplane: 'unreachable' } });
    expect(await relay(0).metric('relay_backplane_healthy')).toBe(0);
    // Same-relay traffic does not need the backplane.
    local.send(sequenced(`${sessionId}-local`, 1));
    await daemon.next((m) => m.sessionId === `${sessionId}-local` && m.seq === 1);
    daemon.send(sequenced(`${sessionId}-local`, 1));
    await local.next((m) => m.sessionId === `${sessionId}-local` && m.seq === 1);
    if (peerLinks) {
      // The last presence answer is used during the outage, and the link carries the frames both ways.
      for (let seq = 1; seq <= 20; seq++) client.send(sequenced(sessionId, 500 + seq));
      await waitFor(() => seqsOf(daemon, sessionId).filter((s) => s > 500).length === 20, 15_000, 'client frames over the link during the outage');
      daemon.send(sequenced(sessionId, 900));
      expect(await client.next((m) => m.type === 'e2ee' && m.seq === 900, 15_000)).toMatchObject({ sessionId });
    } else {
      // Across relays without a link the sender hears a retryable refusal.
      client.send(sequenced(sessionId, 1));
      expect(await client.next((m) => m.code === 'DAEMON_UNAVAILABLE', 15_000)).toMatchObject({ retryable: true });
    }
    expect(await relay(0).isReady()).toBe(true);
    expect(await relay(1).isReady()).toBe(true);
    await cluster.redis.start();
    await waitFor(async () => (await readyBody(0)).body.backplane === undefined && (await readyBody(1)).body.backplane === undefined, 30_000, 'the backplane to recover');
    let seq = 1000;
    const before = seqsOf(daemon, sessionId).length;
    await waitFor(async () => {
      seq += 1;
      client.send(sequenced(sessionId, seq));
      return seqsOf(daemon, sessionId).length > before;
    }, 30_000, 'cross-relay traffic to resume');
    daemon.send(sequenced(sessionId, 2000));
    expect(await client.next((m) => m.type === 'e2ee' && m.seq === 2000, 15_000)).toMatchObject({ sessionId });
    expectNoDuplicateOrReorder(seqsOf(daemon, sessionId));
    report(`Redis restart ${peerLinks ? 'with peer links' : 'on streams'}: /ready 200 with backplane "unreachable" on both relays, local traffic and ${peerLinks ? 'cross-relay traffic over the link' : 'retryable DAEMON_UNAVAILABLE across relays'} during the outage, recovery without restarts`);
  });

  it('kill -9 of the daemon’s relay: the daemon is disconnected, the other relay stays ready and answers DAEMON_UNAVAILABLE (retryable), and the daemon resumes elsewhere', async () => {
    const victim = await cluster.startRelay(`faults-victim-${caseNo}`);
    const { daemon, client, sessionId, workspaceId } = await crossRelayPair(victim, relay(1));
    const down = stream(daemon, sessionId);
    await waitFor(() => seqsOf(client, sessionId).length >= 50, 10_000, 'traffic flowing');
    await victim.kill();
    down.stop();
    expect((await daemon.closed).code).toBe(1006);
    expect(await relay(1).isReady()).toBe(true);
    // Presence expires within its TTL; from then on the client is told to retry.
    await waitFor(async () => {
      client.send(sequenced(sessionId, 1));
      return statuses(client, 'DAEMON_UNAVAILABLE').length > 0;
    }, 15_000, 'DAEMON_UNAVAILABLE');
    expect(statuses(client, 'DAEMON_UNAVAILABLE').every((s) => s.retryable === true)).toBe(true);
    const got = seqsOf(client, sessionId);
    expectNoDuplicateOrReorder(got);
    expect(got).toEqual(range(1, got.length)); // a prefix of what the daemon sent
    // The daemon reconnects to the surviving relay; a new session works at once.
    const again = await cluster.join(relay(0), { role: 'workspace-daemon', workspaceId, runtimeTargetId: 't1' });
    await openSessionEventually(client, again, `${sessionId}-after`, 'session after the crash');
    if (peerLinks) expect(await relay(1).metric('relay_bus_peer_links')).toBeGreaterThanOrEqual(1);
    report(`kill -9 of a relay: the client received a gap-free prefix of ${got.length} frames, then retryable DAEMON_UNAVAILABLE, then a new session via another relay`);
  });
});

describe('platform outage', () => {
  it('existing peers keep talking, new upgrades get 503 (retryable) while the platform is down, and are admitted again after', async () => {
    const platform = await startFakePlatform();
    const issuer = await startFakeIssuer(platform, 'ES256');
    issuer.serveValidate();
    const r = await startTestRelay({ RELAY_VALIDATE_URL: `${platform.url}${VALIDATE_PATH}`, RELAY_ADMISSION_TIMEOUT_MS: '300' });
    try {
      const claims = { workspaceId: 'w1', runtimeTargetId: 't1' };
      const daemon = await connectPeer(r.wsUrl, { role: 'workspace-daemon', ...claims, token: await issuer.mint({ ...claims, role: 'workspace-daemon' }) });
      const client = await connectPeer(r.wsUrl, { role: 'client', ...claims, token: await issuer.mint({ ...claims, role: 'client', clientId: 'c' }) });
      await openSession(client, daemon, 'outage');
      platform.route('POST', VALIDATE_PATH, () => ({ destroy: true }));
      expect(await upgradeStatus(r.wsUrl, { role: 'client', ...claims, token: await issuer.mint({ ...claims, role: 'client' }) })).toBe(503);
      expect((await fetch(`${r.httpUrl}/ready`)).status).toBe(200); // restarting the relay would not help
      client.send(sequenced('outage', 1));
      await daemon.next((m) => m.seq === 1 && m.sessionId === 'outage');
      issuer.serveValidate();
      expect(await upgradeStatus(r.wsUrl, { role: 'client', ...claims, token: await issuer.mint({ ...claims, role: 'client' }) })).toBe(101);
      daemon.ws.close();
      client.ws.close();
    } finally {
      await r.close();
      await platform.close();
    }
  });
});

/** redisPid finds the cluster's redis-server by its port (the helper does not expose the child). */
function redisPid(): number {
  const port = cluster.redis.port;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // redis-server rewrites its title to `redis-server 127.0.0.1:<port>`.
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.startsWith('redis-server') && cmd.includes(`:${port}`)) return Number(entry);
    } catch {
      // the process exited while we looked
    }
  }
  throw new Error(`no redis-server on port ${port}`);
}
