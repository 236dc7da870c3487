// Issue 11, the delivery promise (docs/reliability.md): a frame the relay
// accepted reaches its destination in order, or the destination's connection
// is closed; it is never silently dropped, duplicated or reordered. Checked
// with sequence-numbered payloads through one relay and through two relays on
// a real Redis, and with a reader too slow to keep up.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Backplane } from '../../src/backplane/backplane.js';
import { createDevIssuer, type DevIssuer } from '../../src/devissuer/issuer.js';
import { MemoryBus } from '../memory-backplane.js';
import { connectPeer, counterValue, startTestRelay, waitFor, type TestPeer, type TestRelay } from '../relay-harness.js';
import { openSession, openSessionEventually, range, seqsOf, sequenced, startCluster, statuses, UNLIMITED, type Cluster } from './cluster.js';
import { report, scaled } from './long-run.js';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

const N = scaled(1000, 50_000);

/** gapReport says how many sequenced frames arrived and where the first gap is, for a failure message. */
const gapReport = (seqs: number[]) => `${seqs.length} received, first gap after ${seqs.findIndex((s, i) => s !== i + 1)}`;

/** pump sends frames in slices, yielding between them so the sockets interleave. */
async function pump(peer: TestPeer, sessionId: string, from: number, to: number, pad = 0): Promise<void> {
  for (let seq = from; seq <= to; seq++) {
    peer.send(sequenced(sessionId, seq, pad));
    if (seq % 200 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('through one relay', () => {
  let issuer: DevIssuer;
  let relay: TestRelay;
  beforeAll(async () => {
    issuer = await createDevIssuer();
    relay = await startTestRelay({ RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused', RELAY_MAX_PENDING_BYTES: '65536', ...UNLIMITED }, { admission: { keySource: issuer.keySource } });
  });
  afterAll(async () => relay.close());

  const join = async (role: 'workspace-daemon' | 'client', clientId?: string) =>
    connectPeer(relay.wsUrl, { role, workspaceId: 'w1', runtimeTargetId: 't1', token: await issuer.mint({ role, workspaceId: 'w1', runtimeTargetId: 't1', ...(clientId ? { clientId } : {}) }) });

  it(`${N} frames each way on three sessions arrive complete, once each, in order`, async () => {
    const daemon = await join('workspace-daemon');
    const clients = await Promise.all(['a', 'b', 'c'].map((id) => join('client', id)));
    for (const [i, c] of clients.entries()) await openSession(c, daemon, `s-${i}`);
    const t0 = Date.now();
    await Promise.all([
      ...clients.map((c, i) => pump(c, `s-${i}`, 1, N)),
      ...clients.map((_c, i) => pump(daemon, `s-${i}`, 1, N)),
    ]);
    for (const [i, c] of clients.entries()) {
      await waitFor(() => seqsOf(c, `s-${i}`).length >= N && seqsOf(daemon, `s-${i}`).length >= N, 60_000, `session s-${i} complete`).catch((error: unknown) => {
        throw new Error(`${String(error)}: daemon ${gapReport(seqsOf(daemon, `s-${i}`))}; client ${gapReport(seqsOf(c, `s-${i}`))}`);
      });
    }
    const seconds = (Date.now() - t0) / 1000;
    for (const [i, c] of clients.entries()) {
      expect(seqsOf(c, `s-${i}`)).toEqual(range(1, N));
      expect(seqsOf(daemon, `s-${i}`)).toEqual(range(1, N));
      // A client hears only its own session.
      for (const [j] of clients.entries()) if (j !== i) expect(seqsOf(c, `s-${j}`)).toEqual([]);
    }
    report(`one relay: ${6 * N} sequenced frames delivered in order in ${seconds.toFixed(1)} s (${Math.round((6 * N) / seconds)} frames/s)`);
    for (const p of [daemon, ...clients]) p.ws.close();
  });

  it('a reader too slow to keep up gets a gap-free prefix and then its connection is closed; every other frame is counted as dropped', async () => {
    const daemon = await join('workspace-daemon');
    const slow = await join('client', 'slow');
    await openSession(slow, daemon, 's-slow');
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const routedBefore = await counterValue(relay.relay, 'relay_session_frame_routed_local_total');
    const droppedBefore = await counterValue(relay.relay, 'relay_session_frame_dropped_total');
    // ~36 MiB against a 64 KiB pending cap: more than the loopback socket buffers hold.
    const total = 600;
    await pump(daemon, 's-slow', 1, total, 60 * 1024);
    await waitFor(
      async () =>
        (await counterValue(relay.relay, 'relay_session_frame_routed_local_total')) - routedBefore + (await counterValue(relay.relay, 'relay_session_frame_dropped_total')) - droppedBefore === total,
      20_000,
      'every daemon frame routed or counted as dropped',
    );
    const routed = (await counterValue(relay.relay, 'relay_session_frame_routed_local_total')) - routedBefore;
    expect(routed).toBeLessThan(total);
    expect(await counterValue(relay.relay, 'relay_ws_slow_client_terminated_total')).toBeGreaterThanOrEqual(1);
    socket.resume();
    const closed = await slow.closed;
    const got = seqsOf(slow, 's-slow');
    expect(got).toEqual(range(1, got.length)); // a prefix: nothing skipped, nothing repeated
    expect(got.length).toBeLessThanOrEqual(routed);
    expect([4008, 1006]).toContain(closed.code);
    report(`slow reader: ${got.length} of ${total} frames received as a gap-free prefix, then closed ${closed.code}; ${total - routed} counted as dropped`);
    expect(daemon.ws.readyState).toBe(WebSocket.OPEN);
    daemon.ws.close();
  });
});

describe('through two relays whose presence lookups vary in latency', () => {
  it('keeps a client’s frames in order when some lookups answer from a cache and others wait on the store', async () => {
    const issuer = await createDevIssuer();
    const bus = new MemoryBus();
    const start = async (id: string, backplane: Backplane) =>
      startTestRelay(
        { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/unused', RELAY_BACKPLANE_MODE: 'server', RELAY_INTERNAL_KEY: 'internal-key-for-tests', RELAY_BUS_HMAC_KEY: 'bus-key-for-tests', RELAY_ID: id, RELAY_PUBLIC_WS_BASE_URL: `ws://${id}.test/ws`, RELAY_CLIENT_REDIRECT_ENABLED: '0', ...UNLIMITED },
        { backplane, admission: { keySource: issuer.keySource } },
      );
    const a = await start('relay-a', bus.connect('relay-a'));
    // Relay B's lookups: most answer at once (a cache hit), every seventh waits a little (a miss that goes to the store).
    const inner = bus.connect('relay-b');
    let lookups = 0;
    const b = await start('relay-b', {
      ...inner,
      resolvePresence: async (scope) => {
        lookups += 1;
        if (lookups % 7 === 0) await new Promise((r) => setTimeout(r, 5));
        return inner.resolvePresence(scope);
      },
    });
    try {
      const mint = (claims: Record<string, unknown>) => issuer.mint({ workspaceId: 'w1', runtimeTargetId: 't1', ...claims });
      const daemon = await connectPeer(a.wsUrl, { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1', token: await mint({ role: 'workspace-daemon' }) });
      const client = await connectPeer(b.wsUrl, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', token: await mint({ role: 'client', clientId: 'c' }) });
      await waitFor(() => bus.presence.size > 0, 5000, 'presence');
      await openSession(client, daemon, 'varying');
      const n = 500;
      await pump(client, 'varying', 1, n);
      await waitFor(() => seqsOf(daemon, 'varying').length >= n, 20_000, 'all frames');
      expect(seqsOf(daemon, 'varying')).toEqual(range(1, n));
      daemon.ws.close();
      client.ws.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

// Both transports between relays keep the same promise: the Redis streams, and
// peer links (direct WebSockets, Redis carrying only what no link does).
const TRANSPORTS = [
  { via: 'on Redis', name: 'delivery', peerLinks: false },
  { via: 'linked directly', name: 'delivery-links', peerLinks: true },
] as const;

describe.each(TRANSPORTS)('through two relays $via', ({ via, name, peerLinks }) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(name, 2, {}, { peerLinks });
  });
  afterAll(async () => cluster?.close());

  it(`${N} frames each way between a daemon on relay A and a client on relay B: in order, and complete unless refused or closed as promised`, async () => {
    const [a, b] = cluster.relays as [NonNullable<Cluster['relays'][0]>, NonNullable<Cluster['relays'][0]>];
    const daemon = await cluster.join(a, { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' });
    const client = await cluster.join(b, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: 'far' } });
    let clientClosed: { code: number; reason: string } | null = null;
    void client.closed.then((c) => (clientClosed = c));
    // Until the daemon's presence reaches relay B a key exchange is answered DAEMON_UNAVAILABLE: retry it.
    await openSessionEventually(client, daemon, 's-far', 'a session across the relays');
    const t0 = Date.now();
    await Promise.all([pump(client, 's-far', 1, N), pump(daemon, 's-far', 1, N)]);
    // A burst larger than RELAY_REDIS_QUEUE_MAX (the long run) may be refused: each client
    // frame refused is answered DAEMON_UNAVAILABLE, a daemon frame refused closes the client.
    const up = () => seqsOf(daemon, 's-far').length + statuses(client, 'DAEMON_UNAVAILABLE').length;
    await waitFor(() => up() >= N && (seqsOf(client, 's-far').length >= N || clientClosed !== null), 120_000, 'both directions settled').catch((error: unknown) => {
      throw new Error(`${String(error)}: daemon ${gapReport(seqsOf(daemon, 's-far'))}; client ${gapReport(seqsOf(client, 's-far'))}`);
    });
    const seconds = (Date.now() - t0) / 1000;
    const toDaemon = seqsOf(daemon, 's-far');
    const toClient = seqsOf(client, 's-far');
    for (let i = 1; i < toDaemon.length; i++) expect(toDaemon[i] as number).toBeGreaterThan(toDaemon[i - 1] as number);
    expect(up()).toBe(N);
    expect(toClient).toEqual(range(1, toClient.length));
    if (toClient.length < N) expect(clientClosed).toEqual({ code: 1013, reason: 'bus frames lost' });
    // The fast run stays far below the queue cap: there everything must arrive.
    if (N <= 1000) expect([toDaemon.length, toClient.length]).toEqual([N, N]);
    if (peerLinks) expect(await a.metric('relay_bus_peer_links')).toBe(1);
    report(`two relays ${via}: ${toDaemon.length + toClient.length} of ${2 * N} sequenced frames delivered in order in ${seconds.toFixed(1)} s (${Math.round((toDaemon.length + toClient.length) / seconds)} frames/s); ${N - toDaemon.length} refused to the client, ${toClient.length < N ? 'client closed 1013 after a gap-free prefix' : 'client got all'}`);
  });
});

describe.each(TRANSPORTS)('through two relays $via whose bus queue overflows', ({ via, name, peerLinks }) => {
  // A small queue and a stalled reader make a burst meet a full stream (or a
  // link with that many frames unacknowledged) for sure.
  const QUEUE = 100;
  const BURST = 600;
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(`${name}-overflow`, 2, { RELAY_REDIS_QUEUE_MAX: String(QUEUE), RELAY_REDIS_PRESENCE_TTL_MS: '30000' }, { peerLinks });
  });
  afterAll(async () => cluster?.close());

  const isPrefix = (seqs: number[]) => seqs.every((s, i) => s === i + 1);

  it('a burst past the queue: each frame arrives in order, or its sender is told, or its destination is closed, and all of it is counted', async () => {
    const [a, b] = cluster.relays as [NonNullable<Cluster['relays'][0]>, NonNullable<Cluster['relays'][0]>];
    const daemon = await cluster.join(a, { role: 'workspace-daemon', workspaceId: 'w-burst', runtimeTargetId: 't1' });
    const client = await cluster.join(b, { role: 'client', workspaceId: 'w-burst', runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: 'far' } });
    await openSessionEventually(client, daemon, 's-down', 'a session across the relays');

    // Daemon → client while the client's relay is stalled: no one can tell the
    // daemon, so the client gets a gap-free prefix and is then closed, retryably.
    process.kill(b.pid, 'SIGSTOP');
    try {
      await pump(daemon, 's-down', 1, BURST);
      await waitFor(async () => (await a.metric('relay_bus_publish_refused_total')) >= BURST - QUEUE, 20_000, 'the overflow refused on relay A');
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    expect(await a.metric('relay_bus_loss_marked_total')).toBe(1);
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1013, reason: 'bus frames lost' });
    const down = seqsOf(client, 's-down');
    expect(isPrefix(down)).toBe(true);
    expect(down.length).toBeLessThanOrEqual(QUEUE);
    expect(down.length + (await a.metric('relay_bus_publish_refused_total'))).toBe(BURST);
    expect(await b.metric('relay_bus_loss_received_total')).toBe(1);

    // Client → daemon while the daemon's relay is stalled: every refused frame
    // is answered DAEMON_UNAVAILABLE (retryable) to the client that sent it.
    const again = await cluster.join(b, { role: 'client', workspaceId: 'w-burst', runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: 'again' } });
    await openSessionEventually(again, daemon, 's-up', 'a second session');
    process.kill(a.pid, 'SIGSTOP');
    try {
      await pump(again, 's-up', 1, BURST);
      await waitFor(() => statuses(again, 'DAEMON_UNAVAILABLE').length >= BURST - QUEUE, 20_000, 'the overflow refused to the client');
    } finally {
      process.kill(a.pid, 'SIGCONT');
    }
    await waitFor(() => seqsOf(daemon, 's-up').length + statuses(again, 'DAEMON_UNAVAILABLE').length >= BURST, 20_000, 'every frame delivered or refused').catch((error: unknown) => {
      throw new Error(`${String(error)}: daemon ${gapReport(seqsOf(daemon, 's-up'))}, ${statuses(again, 'DAEMON_UNAVAILABLE').length} refused`);
    });
    const told = statuses(again, 'DAEMON_UNAVAILABLE');
    const up = seqsOf(daemon, 's-up');
    expect(isPrefix(up)).toBe(true);
    expect(up.length + told.length).toBe(BURST);
    expect(told.every((s) => s.retryable === true)).toBe(true);
    expect(await b.metric('relay_bus_publish_refused_total')).toBe(told.length);
    if (peerLinks) expect(await b.metric('relay_bus_peer_links')).toBe(1);
    report(`${via}, bus queue ${QUEUE}, bursts of ${BURST}: daemon→client ${down.length} delivered then closed 1013; client→daemon ${up.length} delivered, ${told.length} refused DAEMON_UNAVAILABLE`);
  }, 120_000);
});
