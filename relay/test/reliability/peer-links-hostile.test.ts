// Peer links under attack and under a stalled peer, against real relay
// processes and a real redis-server (issue 23 items 1 and 4, issue 22 items
// 10 and 3's link part):
// - with Redis write access alone, rewriting a relay's `peer:{id}` record to a
//   proxy gets the proxy nothing (the record is signed); a proxy on the
//   network path that relays the handshake gets a link it cannot inject into
//   or rewrite (every message carries a tag under the link's session key),
//   the forgery is counted, no forged frame reaches a daemon, and traffic
//   keeps flowing;
// - strangers idling on the peer port do not keep a real link out;
// - a link to a stopped relay holds a bounded number of bytes, and every
//   frame refused is answered.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { encodeLinkFrame } from '../../src/backplane/peer-links/codec.js';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import { kexInit } from '../frame-fixtures.js';
import type { RelayProcess } from '../multi-relay/relay-process.js';
import { freePort } from '../redis-server.js';
import { waitFor, type TestPeer } from '../relay-harness.js';
import { openSessionEventually, seqsOf, sequenced, startCluster, type Cluster } from './cluster.js';
import { report } from './long-run.js';
import { mib, rssBytes, sampler } from './process-stats.js';

vi.setConfig({ testTimeout: 120_000 });

const ADMIN_TOKEN = 'multi-relay-admin-token-0123456789';

/** labelled reads one labelled sample from a relay's /metrics (0 when absent). */
async function labelled(relay: RelayProcess, name: string, reason: string): Promise<number> {
  const res = await fetch(`${relay.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const statuses = (peer: TestPeer, code: string) =>
  peer.messages.map((t) => JSON.parse(t) as Record<string, unknown>).filter((m) => m.type === 'relay_status' && m.code === code);

/** linkUrlOf reads the URL in a `peer:{id}` record (a signed record, or an earlier relay's bare URL). */
function linkUrlOf(raw: string | null): string {
  if (raw === null) throw new Error('no peer record');
  try {
    return (JSON.parse(raw) as { url: string }).url;
  } catch {
    return raw;
  }
}

/**
 * crossSession opens a session between a daemon on daemonRelay and a client on
 * clientRelay (workspace w-{name}, session s-{name}); told counts the
 * DAEMON_UNAVAILABLE answers the client got after it.
 */
async function crossSession(cluster: Cluster, daemonRelay: RelayProcess, clientRelay: RelayProcess, name: string) {
  const daemon = await cluster.join(daemonRelay, { role: 'workspace-daemon', workspaceId: `w-${name}`, runtimeTargetId: 't1' });
  const client = await cluster.join(clientRelay, { role: 'client', workspaceId: `w-${name}`, runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: `c-${name}` } });
  await openSessionEventually(client, daemon, `s-${name}`, 'a session across the relays');
  const told0 = statuses(client, 'DAEMON_UNAVAILABLE').length;
  return { daemon, client, told: () => statuses(client, 'DAEMON_UNAVAILABLE').length - told0 };
}

interface Proxy {
  readonly url: string;
  connections: number;
  /** Link messages it read going either way. */
  read: number;
  injected: number;
  rewrittenAcks: number;
  close(): Promise<void>;
}

/**
 * startProxy is a WebSocket proxy on host that passes each connection on to
 * upstream with the same path and query (so the handshake is relayed as it
 * is), reads everything, injects a forged client frame after the dialer's
 * first frame and raises the count of every ack it relays.
 */
async function startProxy(host: string, port: number, upstream: string, forged: Buffer | null): Promise<Proxy> {
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const proxy: Proxy = {
    url: `ws://${host}:${(wss.address() as AddressInfo).port}`,
    connections: 0,
    read: 0,
    injected: 0,
    rewrittenAcks: 0,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (down, req) => {
    proxy.connections++;
    const up = new WebSocket(`${upstream}${req.url ?? '/'}`, { perMessageDeflate: false });
    const early: Buffer[] = [];
    let fromDialer = 0;
    up.on('open', () => {
      for (const data of early.splice(0)) up.send(data);
    });
    up.on('message', (raw: RawData) => {
      const data = Buffer.from(raw as Buffer);
      proxy.read++;
      // An ack (type 2): raise its count, keep its tag.
      if (data[0] === 2 && data.length === 25) {
        data.writeDoubleBE(data.readDoubleBE(1) + 1000, 1);
        proxy.rewrittenAcks++;
      }
      if (down.readyState === WebSocket.OPEN) down.send(data);
    });
    down.on('message', (raw: RawData) => {
      const data = raw as Buffer;
      proxy.read++;
      fromDialer++;
      if (up.readyState === WebSocket.OPEN) up.send(data);
      else early.push(data);
      // The first message is the dialer's proof; after its first frame, a forgery.
      if (fromDialer === 2 && forged !== null) {
        up.send(forged);
        proxy.injected++;
      }
    });
    const closeBoth = () => {
      up.terminate();
      down.terminate();
    };
    up.on('close', closeBoth);
    down.on('close', closeBoth);
    up.on('error', closeBoth);
    down.on('error', closeBoth);
  });
  return proxy;
}

describe('a peer-link hijack with Redis write access, then from the network path', () => {
  const name = 'hijack';
  const keys = redisKeys(name);
  let cluster: Cluster;
  let direct: Redis;
  let pathPort: number;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    cluster = await startCluster(name, 0, { RELAY_REDIS_PRESENCE_TTL_MS: '3000' }, { peerLinks: true });
    // Relay 0 listens for links on 127.0.0.1 but announces 127.0.0.3: whoever
    // holds that address sits on the path between the relays.
    pathPort = await freePort();
    await cluster.startRelay(`${name}-0`, { RELAY_PEER_LINK_PORT: String(pathPort), RELAY_PEER_LINK_HOST: '127.0.0.3' });
    await cluster.startRelay(`${name}-1`);
    direct = new Redis(cluster.redis.url, { maxRetriesPerRequest: 1 });
    direct.on('error', () => undefined);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** onPath starts a proxy where relay 0's announced address points, in front of its real listener. */
  async function onPath(forged: Buffer | null): Promise<Proxy> {
    const proxy = await startProxy('127.0.0.3', pathPort, `ws://127.0.0.1:${pathPort}`, forged);
    closers.push(proxy.close);
    return proxy;
  }
  afterAll(async () => {
    direct?.disconnect();
    await cluster?.close();
  });

  it('gets the proxy nothing: no forged frame reaches the daemon, the forgery is counted, and frames keep flowing', async () => {
    const [target, sender] = cluster.relays as [RelayProcess, RelayProcess];
    const forged = encodeLinkFrame({
      workspaceId: 'w-hijack',
      runtimeTargetId: 't1',
      sourceRelayId: sender.id,
      targetRelayId: target.id,
      direction: 'client_to_daemon',
      payload: JSON.stringify(kexInit('forged-by-proxy')),
    });
    randomBytes(16).copy(forged, forged.length - 16);

    // 1. Redis write access alone: the record for relay 0 is rewritten, over
    // and over, to a proxy in front of relay 0's real listener: first as a
    // bare URL (an earlier relay's format), then as a copy of the genuine
    // signed record with the URL changed.
    const redisProxy = await startProxy('127.0.0.1', 0, `ws://127.0.0.1:${pathPort}`, forged);
    closers.push(redisProxy.close);
    const genuine = (await direct.get(keys.peer(target.id))) ?? '';
    let tampered: string;
    try {
      tampered = JSON.stringify({ ...(JSON.parse(genuine) as object), url: redisProxy.url });
    } catch {
      tampered = redisProxy.url;
    }
    let round = 0;
    const rewriting = setInterval(() => void direct.set(keys.peer(target.id), round++ % 2 === 0 ? redisProxy.url : tampered, 'PX', 3000).catch(() => undefined), 5);
    closers.push(async () => clearInterval(rewriting));

    const { daemon, client, told } = await crossSession(cluster, target, sender, 'hijack');
    let seq = 0;
    const send = () => client.send(sequenced('s-hijack', ++seq));
    /** sendUntil sends a frame per check until check holds: each dial needs a frame to start it. */
    const sendUntil = (check: () => Promise<boolean>, timeoutMs: number, what: string) =>
      waitFor(
        async () => {
          send();
          return check();
        },
        timeoutMs,
        what,
      );
    await sendUntil(
      async () =>
        (await labelled(sender, 'relay_bus_peer_link_rejected_total', 'address_unsigned')) >= 1 && (await labelled(sender, 'relay_bus_peer_link_rejected_total', 'address_bad_signature')) >= 1,
      15_000,
      'both rewritten records refused',
    );
    clearInterval(rewriting);
    expect(redisProxy.connections).toBe(0);
    await waitFor(() => seqsOf(daemon, 's-hijack').length + told() >= seq, 15_000, 'every frame delivered or answered');
    expect(seqsOf(daemon, 's-hijack').length).toBeGreaterThan(0);

    // 2. On the network path (the address relay 0 itself announced): the
    // proxy relays the handshake, so a link comes up through it, and then
    // injects a forged key-exchange init and raises the acks it relays.
    const pathProxy = await onPath(forged);
    await sendUntil(
      async () => pathProxy.injected >= 1 && (await labelled(target, 'relay_bus_peer_link_rejected_total', 'bad_tag')) >= 1,
      20_000,
      'a link through the path proxy, and its forgery refused',
    );
    const sentThrough = seq;
    for (let i = 0; i < 50; i++) {
      send();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => seqsOf(daemon, 's-hijack').length + told() >= seq, 20_000, 'every frame delivered or answered').catch((error: unknown) => {
      throw new Error(`${String(error)}: ${seqsOf(daemon, 's-hijack').length} delivered, ${told()} answered of ${seq}`);
    });
    // A frame on a link that dropped before its ack may have arrived although
    // its sender was told it did not (docs/backplane.md, "Peer links"); never
    // the other way round, and nothing twice or out of order.
    const through = seqsOf(daemon, 's-hijack');
    for (let i = 1; i < through.length; i++) expect(through[i] as number).toBeGreaterThan(through[i - 1] as number);
    expect(through.filter((s) => s > sentThrough).length).toBeGreaterThan(0);
    // The forged init never reached the daemon; each forgery was counted as a bad signature too.
    expect(daemon.messages.some((m) => m.includes('forged-by-proxy'))).toBe(false);
    expect(await target.metric('relay_bus_pull_invalid_signature_total')).toBeGreaterThanOrEqual(1);
    expect(target.output()).toContain('peer_link_rejected');

    // 3. The same place, a proxy that forges nothing but raises every ack it
    // relays (to keep a link up whose frames it drops): the dialer refuses it.
    await pathProxy.close();
    const ackProxy = await onPath(null);
    await sendUntil(
      async () => ackProxy.rewrittenAcks >= 1 && (await labelled(sender, 'relay_bus_peer_link_rejected_total', 'bad_tag')) >= 1,
      20_000,
      'a rewritten ack refused by the dialer',
    );
    await waitFor(() => seqsOf(daemon, 's-hijack').length + told() >= seq, 20_000, 'every frame delivered or answered');
    const all = seqsOf(daemon, 's-hijack');
    for (let i = 1; i < all.length; i++) expect(all[i] as number).toBeGreaterThan(all[i - 1] as number);
    report(
      `peer-link hijack: Redis rewrites refused (proxy dialled ${redisProxy.connections} times); path proxy relayed ${pathProxy.connections} handshakes, ` +
        `read ${pathProxy.read} messages, injected ${pathProxy.injected}; ` +
        `then an ack-raising proxy rewrote ${ackProxy.rewrittenAcks} acks; ` +
        `bad tags counted ${await labelled(target, 'relay_bus_peer_link_rejected_total', 'bad_tag')} (listener) + ${await labelled(sender, 'relay_bus_peer_link_rejected_total', 'bad_tag')} (dialer); ` +
        `${seqsOf(daemon, 's-hijack').length} of ${seq} frames delivered in order, ${told()} answered DAEMON_UNAVAILABLE, none forged`,
    );
  });
});

describe('strangers on the peer port', () => {
  const name = 'strangers';
  let cluster: Cluster;
  let direct: Redis;
  let stopSwarm = () => undefined as void;

  beforeAll(async () => {
    cluster = await startCluster(name, 2, { RELAY_REDIS_PRESENCE_TTL_MS: '3000' }, { peerLinks: true });
    direct = new Redis(cluster.redis.url, { maxRetriesPerRequest: 1 });
    direct.on('error', () => undefined);
  });
  afterAll(async () => {
    stopSwarm();
    direct?.disconnect();
    await cluster?.close();
  });

  it('80 idle handshakes from another address do not keep a real link out', async () => {
    const [target, sender] = cluster.relays as [RelayProcess, RelayProcess];
    const linkUrl = linkUrlOf(await direct.get(redisKeys(name).peer(target.id)));
    // Each stranger opens a well-formed dial from 127.0.0.2 (another pod), sends
    // nothing, and dials again as soon as it is dropped or refused.
    let stopped = false;
    const seen = new Set<number>();
    const sockets = new Set<WebSocket>();
    const stranger = (i: number) => {
      if (stopped) return;
      const nonce = randomBytes(16).toString('base64url');
      const ws = new WebSocket(`${linkUrl}/peer?v=2&source=stranger-${i}&nonce=${nonce}`, { perMessageDeflate: false, localAddress: '127.0.0.2' });
      sockets.add(ws);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        seen.add(i);
      });
      ws.on('unexpected-response', () => {
        seen.add(i);
        ws.terminate();
      });
      ws.on('error', () => undefined);
      ws.on('close', () => {
        sockets.delete(ws);
        setTimeout(() => stranger(i), opened ? 5 : 250);
      });
    };
    stopSwarm = () => {
      stopped = true;
      for (const ws of sockets) ws.terminate();
    };
    for (let i = 0; i < 80; i++) stranger(i);
    await waitFor(() => seen.size === 80, 10_000, 'every stranger to have dialled');

    // The first cross-relay frame (the session's key exchange) starts the dial.
    const t0 = Date.now();
    await crossSession(cluster, target, sender, 'strangers');
    await waitFor(async () => (await sender.metric('relay_bus_peer_links')) >= 1, Math.max(1000, 4000 - (Date.now() - t0)), 'a real link despite the strangers');
    const ms = Date.now() - t0;
    stopSwarm();
    report(`80 idle strangers on the peer port: a real link formed ${ms} ms after the first cross-relay frame`);
  });
});

describe('a link to a stopped relay', () => {
  const name = 'stalled-link';
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(name, 2, { RELAY_REDIS_PRESENCE_TTL_MS: '30000' }, { peerLinks: true });
  });
  afterAll(async () => cluster?.close());

  it('holds a bounded number of bytes while 1 MiB frames flood it; every frame is delivered or answered', async () => {
    const [target, sender] = cluster.relays as [RelayProcess, RelayProcess];
    const { daemon, client, told } = await crossSession(cluster, target, sender, 'flood');
    let seq = 0;
    await waitFor(
      async () => {
        client.send(sequenced('s-flood', ++seq));
        return (await sender.metric('relay_bus_peer_links')) >= 1;
      },
      15_000,
      'the link up',
    );
    await waitFor(() => seqsOf(daemon, 's-flood').length + told() >= seq, 15_000, 'the warm-up frames settled');
    const warmUp = seq;
    const before = rssBytes(sender.pid);
    const rss = sampler(sender.pid, 50);
    const FRAMES = 300;
    const PAD = 1_000_000;
    process.kill(target.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      while (seq < warmUp + FRAMES && Date.now() - started < 8000) {
        // The test's own socket must not hold hundreds of MiB either.
        if (client.ws.bufferedAmount > 8 * PAD) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        client.send(sequenced('s-flood', ++seq, PAD));
      }
      await waitFor(() => told() >= 1, 10_000, 'refusals answered while the target is stopped');
    } finally {
      process.kill(target.pid, 'SIGCONT');
    }
    const sent = seq - warmUp;
    await waitFor(() => seqsOf(daemon, 's-flood').length + told() >= seq, 30_000, 'every frame delivered or answered').catch((error: unknown) => {
      throw new Error(`${String(error)}: ${seqsOf(daemon, 's-flood').length} delivered, ${told()} answered of ${seq}`);
    });
    rss.stop();
    const peak = rss.peak();
    const delivered = seqsOf(daemon, 's-flood');
    for (let i = 1; i < delivered.length; i++) expect(delivered[i] as number).toBeGreaterThan(delivered[i - 1] as number);
    const refused = await labelled(sender, 'relay_bus_peer_link_refused_total', 'queue_bytes');
    report(
      `1 MiB frames to a stopped relay over a link: ${sent} sent, ${delivered.filter((n) => n > warmUp).length} delivered, ${told()} answered DAEMON_UNAVAILABLE ` +
        `(${refused} refused for bytes); sending relay RSS ${mib(before)} before, peak ${mib(peak)}`,
    );
    expect(refused).toBeGreaterThan(0);
    // A link holds at most 16 MiB (plus one frame) for its peer; frames refused are garbage.
    expect(peak - before).toBeLessThan(160 * 1024 * 1024);
  });
});
