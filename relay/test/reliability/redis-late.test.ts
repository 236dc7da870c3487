// A relay announces itself (in the live-relay set that broadcasts read, and
// with its peer-link address) as soon as it is connected to Redis, not at its
// next heartbeat (a third of the presence TTL, 15 s by default): after it
// started while Redis was unreachable, as a pod does when it starts beside a
// managed Redis that is still starting, and after a Redis that restarted
// empty. Until then its peers could not dial it, and broadcasts missed it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import type { RelayProcess } from '../multi-relay/relay-process.js';
import { waitFor } from '../relay-harness.js';
import { openSessionEventually, sequenced, startCluster, type Cluster } from './cluster.js';

vi.setConfig({ testTimeout: 120_000 });

const PREFIX = 'late';
const keys = redisKeys(PREFIX);
// The default presence TTL, so heartbeats come every 15 s: far later than the waits below.
const TTL = { RELAY_REDIS_PRESENCE_TTL_MS: '45000' };
/** How soon after a relay is ready again it must be announced (a heartbeat is 15 s away). */
const ANNOUNCED_WITHIN_MS = 3000;

let cluster: Cluster;
let direct: Redis;

beforeAll(async () => {
  cluster = await startCluster(PREFIX, 1, TTL, { peerLinks: true });
  direct = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  direct.on('error', () => undefined);
});

afterAll(async () => {
  direct?.disconnect();
  await cluster?.close();
});

/** announced: relayId is in the live-relay set and its peer-link address is readable. */
async function announced(relayId: string): Promise<boolean> {
  try {
    const [address, score] = await Promise.all([direct.get(keys.peer(relayId)), direct.zscore(keys.relays, keys.stream(relayId))]);
    return address !== null && score !== null;
  } catch {
    return false;
  }
}

const linksOf = (relay: RelayProcess) => relay.metric('relay_bus_peer_links');

describe('a relay on Redis that was not there', () => {
  it('started while Redis was down: announced as soon as it connects, so the first frame for it opens a link', async () => {
    const early = cluster.relays[0] as RelayProcess;
    await cluster.redis.stop();
    const late = await cluster.startRelay(`${PREFIX}-started-early`, TTL, false);
    await waitFor(() => late.output().includes('backplane_connect_failed'), 20_000, 'the late relay to fail its first connection');
    await cluster.redis.start();
    await waitFor(() => late.isReady(), 30_000, 'the late relay to connect and become ready');
    await waitFor(() => announced(late.id), ANNOUNCED_WITHIN_MS, `${late.id} announced within ${String(ANNOUNCED_WITHIN_MS)} ms of being ready`);

    // What users see: a client on the other relay reaches the daemon on this
    // one, and the first frame for it (the key exchange) dials a direct link.
    await waitFor(() => early.isReady(), 30_000, 'the first relay ready again');
    const daemon = await cluster.join(late, { role: 'workspace-daemon', workspaceId: 'w-late', runtimeTargetId: 't1' });
    const client = await cluster.join(early, { role: 'client', workspaceId: 'w-late', runtimeTargetId: 't1', claims: { scope: 'runtime', clientId: 'c-late' } });
    await openSessionEventually(client, daemon, 's-late', 'a session across the relays');
    await waitFor(async () => (await linksOf(early)) >= 1, ANNOUNCED_WITHIN_MS, 'the client relay to link to the daemon relay');
    client.send(sequenced('s-late', 1));
    await daemon.next((m) => m.type === 'e2ee' && m.sessionId === 's-late', 10_000);
  });

  it('after Redis restarted empty: announced again as soon as it reconnects', async () => {
    const relay = cluster.relays[0] as RelayProcess;
    await cluster.redis.stop();
    await cluster.redis.start();
    await waitFor(() => relay.isReady(), 30_000, 'the relay to reconnect');
    await waitFor(() => announced(relay.id), ANNOUNCED_WITHIN_MS, `${relay.id} announced again within ${String(ANNOUNCED_WITHIN_MS)} ms`);
  });
});
