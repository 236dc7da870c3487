// A small relay cluster for the reliability tests: a real redis-server, the
// fake platform serving an issuer's JWKS, and relay child processes (the
// built CLI) on the redis backplane. Peers join with freshly minted tokens.
import { Redis } from 'ioredis';
import { startFakeIssuer, type FakeIssuer } from '../fake-issuer.js';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { e2ee, kexInit, kexResponse } from '../frame-fixtures.js';
import { connectPeer, waitFor, type TestPeer } from '../relay-harness.js';
import { freePort, startRedisServer, type TestRedisServer } from '../redis-server.js';
import { startRelayProcess, type RelayProcess } from '../multi-relay/relay-process.js';

/** UNLIMITED lifts every per-peer rate limit, so load tests measure routing, not limiters. */
export const UNLIMITED: Record<string, string> = {
  RELAY_UPGRADE_RATE_PER_MINUTE: '1000000',
  RELAY_MAX_CONNECTIONS_PER_IP: '100000',
  RELAY_MAX_TOTAL_CONNECTIONS: '100000',
  RELAY_MAX_CLIENTS_PER_WORKSPACE: '100000',
  RELAY_KEX_INIT_RATE_PER_MINUTE: '1000000',
  RELAY_PAIRING_RATE_PER_MINUTE: '1000000',
  RELAY_RUNTIME_RATE_PER_MINUTE: '100000000',
  RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE: '100000000',
  RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: '100000000',
  RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: '100000000',
  RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: '100000000000',
  RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: '100000000',
  RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: '100000000000',
};

export interface PeerSpec {
  readonly role: 'workspace-daemon' | 'client' | 'worker';
  readonly workspaceId: string;
  readonly runtimeTargetId?: string;
  readonly claims?: Record<string, unknown>;
}

export interface Cluster {
  readonly redis: TestRedisServer;
  readonly platform: FakePlatform;
  readonly issuer: FakeIssuer;
  readonly relays: RelayProcess[];
  /** join connects a peer to a relay (or a ws URL) with a token for exactly spec. */
  join(relay: RelayProcess | string, spec: PeerSpec): Promise<TestPeer>;
  /** startRelay adds one more relay process with the cluster's settings (awaitReady false: resolves once it answers /ready at all). */
  startRelay(id: string, env?: Record<string, string>, awaitReady?: boolean): Promise<RelayProcess>;
  close(): Promise<void>;
}

const INTERNAL_KEY = 'reliability-internal-key-0123456789';
const HMAC_KEY = 'reliability-bus-hmac-key-0123456789';

/**
 * startCluster starts redis, the fake platform and `count` relays named
 * `${name}-N`; with peerLinks each relay also links to the others directly.
 */
export async function startCluster(name: string, count: number, env: Record<string, string> = {}, opts: { peerLinks?: boolean } = {}): Promise<Cluster> {
  const redis = await startRedisServer();
  const platform = await startFakePlatform();
  const issuer = await startFakeIssuer(platform, 'ES256');
  const peers: TestPeer[] = [];
  const relays: RelayProcess[] = [];
  const relayEnv = (extra: Record<string, string>) => ({
    RELAY_BACKPLANE_MODE: 'redis',
    RELAY_INTERNAL_KEY: INTERNAL_KEY,
    RELAY_BUS_HMAC_KEY: HMAC_KEY,
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    SERVER_URL: platform.url,
    RELAY_REDIS_URL: redis.url,
    RELAY_REDIS_KEY_PREFIX: name,
    RELAY_REDIS_PRESENCE_TTL_MS: '3000',
    RELAY_PRESENCE_SYNC_INTERVAL_MS: '500',
    RELAY_CLIENT_REDIRECT_ENABLED: '0',
    RELAY_MAX_LOGS: '100',
    ...UNLIMITED,
    ...env,
    ...extra,
  });
  const cluster: Cluster = {
    redis,
    platform,
    issuer,
    relays,
    async join(relay, spec) {
      const token = await issuer.mint({ role: spec.role, workspaceId: spec.workspaceId, ...(spec.runtimeTargetId !== undefined ? { runtimeTargetId: spec.runtimeTargetId } : {}), ...spec.claims });
      const p = await connectPeer(typeof relay === 'string' ? relay : relay.wsUrl, {
        role: spec.role,
        workspaceId: spec.workspaceId,
        ...(spec.runtimeTargetId !== undefined ? { runtimeTargetId: spec.runtimeTargetId } : {}),
        token,
      });
      peers.push(p);
      return p;
    },
    async startRelay(id, extra = {}, awaitReady = true) {
      const links: Record<string, string> = opts.peerLinks ? { RELAY_PEER_LINK_PORT: String(await freePort()), RELAY_PEER_LINK_HOST: '127.0.0.1' } : {};
      const r = await startRelayProcess(id, relayEnv({ ...links, ...extra }), undefined, awaitReady);
      relays.push(r);
      return r;
    },
    async close() {
      for (const p of peers) p.ws.terminate();
      await Promise.all(relays.map((r) => r.kill()));
      await platform.close();
      await redis.close();
    },
  };
  try {
    for (let i = 0; i < count; i++) await cluster.startRelay(`${name}-${i}`);
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** openSession runs a key exchange from client to daemon so sessionId is routable both ways. */
export async function openSession(client: TestPeer, daemon: TestPeer, sessionId: string, timeoutMs = 15_000): Promise<void> {
  const requestId = `req-${sessionId}`;
  client.send(kexInit(requestId));
  await daemon.next((m) => m.requestId === requestId, timeoutMs);
  daemon.send(kexResponse(requestId, sessionId));
  await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === sessionId, timeoutMs);
}

/**
 * openSessionEventually retries openSession (each try waits attemptMs) until it
 * works: across relays a key exchange is answered DAEMON_UNAVAILABLE until the
 * daemon's presence has reached the client's relay.
 */
export async function openSessionEventually(client: TestPeer, daemon: TestPeer, sessionId: string, what: string, timeoutMs = 60_000, attemptMs = 2000): Promise<void> {
  await waitFor(async () => {
    try {
      await openSession(client, daemon, sessionId, attemptMs);
      return true;
    } catch {
      return false;
    }
  }, timeoutMs, what);
}

/** sequenced is an e2ee frame whose `seq` numbers it within its session. */
export const sequenced = (sessionId: string, seq: number, pad = 0) => e2ee(sessionId, { seq, ...(pad > 0 ? { pad: 'p'.repeat(pad) } : {}) });

/** seqsOf lists the seq of every e2ee frame a peer received for sessionId, in arrival order. */
export function seqsOf(peer: TestPeer, sessionId: string): number[] {
  const out: number[] = [];
  for (const text of peer.messages) {
    const m = JSON.parse(text) as { type?: string; sessionId?: string; seq?: number };
    if (m.type === 'e2ee' && m.sessionId === sessionId && typeof m.seq === 'number') out.push(m.seq);
  }
  return out;
}

/** statuses lists the relay_status messages with code that peer received. */
export const statuses = (peer: TestPeer, code: string) =>
  peer.messages.map((t) => JSON.parse(t) as Record<string, unknown>).filter((m) => m.type === 'relay_status' && m.code === code);

/** redisClient connects a client of the cluster's redis-server, as an attacker with write access would. */
export async function redisClient(cluster: Cluster): Promise<Redis> {
  const r = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  await r.connect();
  return r;
}

/** range is [from, from+1, ..., to]. */
export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
