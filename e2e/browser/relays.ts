// The relays a browser meets in the tier: two real relay processes sharing a
// real redis-server, client redirects on, origins restricted to the test
// page's, tokens from a JWKS issuer on a fake platform; plus echo daemons
// (the Node E2EE daemon side) for the scopes the tests use.
import { silentLogger } from '@viewport/log';
import { Registry } from 'prom-client';
import { createBackplane, type Backplane } from '../../relay/src/backplane/index.js';
import { devClaims } from '../../relay/src/devissuer/issuer.js';
import { startEchoDaemon, type EchoDaemon } from '../../relay/src/probe-page/echo-daemon.js';
import { waitFor } from '../../relay/test/backplane/wait-for.js';
import { startFakeIssuer, type FakeIssuer } from '../../relay/test/fake-issuer.js';
import { startFakePlatform, type FakePlatform } from '../../relay/test/fake-platform.js';
import { ADMIN_TOKEN, startRelayProcess, type RelayProcess } from '../../relay/test/multi-relay/relay-process.js';
import { startRedisServer, type TestRedisServer } from '../../relay/test/redis-server.js';

const INTERNAL_KEY = 'browser-tier-internal-key-0123456789';
const HMAC_KEY = 'browser-tier-bus-hmac-key-0123456789';
const KEY_PREFIX = 'browser-tier';

/** RelayPair is the tier's relays and what they need. */
export interface RelayPair {
  readonly a: RelayProcess;
  readonly b: RelayProcess;
  /** secrets that must never appear in a relay's output. */
  readonly secrets: readonly string[];
  clientToken(workspaceId: string, runtimeTargetId: string): Promise<string>;
  /** echoDaemon joins relay as the daemon of the scope and waits until it is connected there. */
  echoDaemon(relay: RelayProcess, workspaceId: string, runtimeTargetId: string, pairing?: { peerId: string; secret: Uint8Array }): Promise<EchoDaemon>;
  /** waitPresence waits until the redis presence says relay holds the scope's daemon. */
  waitPresence(relay: RelayProcess, workspaceId: string, runtimeTargetId: string): Promise<void>;
  /** clientCount reads the scope's clients from relay's /state (admin token). */
  clientCount(relay: RelayProcess, workspaceId: string): Promise<number>;
  /** rejections reads relay_upgrade_rejections_total for one reason. */
  rejections(relay: RelayProcess, reason: string): Promise<number>;
  close(): Promise<void>;
}

/** startRelayPair starts redis, the issuer and relays a and b; allowedOrigin is the page's origin. */
export async function startRelayPair(allowedOrigin: string, rotateAfterMessages: number): Promise<RelayPair> {
  const platform: FakePlatform = await startFakePlatform();
  const issuer: FakeIssuer = await startFakeIssuer(platform, 'ES256');
  const redis: TestRedisServer = await startRedisServer();
  const daemons: EchoDaemon[] = [];
  const relays: RelayProcess[] = [];
  let observer: Backplane | undefined;
  const env = {
    RELAY_BACKPLANE_MODE: 'redis',
    RELAY_REDIS_URL: redis.url,
    RELAY_REDIS_KEY_PREFIX: KEY_PREFIX,
    RELAY_INTERNAL_KEY: INTERNAL_KEY,
    RELAY_BUS_HMAC_KEY: HMAC_KEY,
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    SERVER_URL: platform.url,
    RELAY_CLIENT_REDIRECT_ENABLED: '1',
    RELAY_ALLOWED_ORIGINS: allowedOrigin,
    RELAY_PRESENCE_SYNC_INTERVAL_MS: '400',
  };
  try {
    relays.push(await startRelayProcess('browser-a', env), await startRelayProcess('browser-b', env));
    observer = createBackplane(
      {
        mode: 'redis',
        relayId: 'browser-observer',
        relayWsBaseUrl: 'ws://observer.invalid/ws',
        busHmacKey: HMAC_KEY,
        busSignatureMaxSkewMs: 15_000,
        busFreshnessTrackMax: 100,
        maxFrameBytes: 1 << 20,
        presenceTtlMs: 30_000,
        presenceResolveCacheMax: 10,
        presenceResolveCacheTtlMs: 0,
        redis: { url: redis.url, keyPrefix: KEY_PREFIX, connectTimeoutMs: 2000, queueMax: 100 },
      },
      { registry: new Registry(), log: silentLogger, now: Date.now },
    );
    await observer.start(() => {});
  } catch (error) {
    await Promise.all(relays.map((r) => r.kill()));
    await redis.close();
    await platform.close();
    throw error;
  }
  const presence = observer;
  const [a, b] = relays as [RelayProcess, RelayProcess];
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    a,
    b,
    secrets: [INTERNAL_KEY, HMAC_KEY, ADMIN_TOKEN],
    clientToken: (workspaceId, runtimeTargetId) => issuer.mint(devClaims({ role: 'client', workspaceId, runtimeTargetId })),
    async echoDaemon(relay, workspaceId, runtimeTargetId, pairing) {
      const daemon = startEchoDaemon({
        url: relay.wsUrl,
        workspaceId,
        runtimeTargetId,
        token: () => issuer.mint(devClaims({ role: 'workspace-daemon', workspaceId, runtimeTargetId })),
        rotateAfterMessages,
        ...(pairing ? { pairingSecrets: new Map([[pairing.peerId, pairing.secret]]) } : {}),
      });
      daemons.push(daemon);
      await daemon.connected();
      return daemon;
    },
    async waitPresence(relay, workspaceId, runtimeTargetId) {
      await waitFor(async () => (await presence.resolvePresence({ workspaceId, runtimeTargetId }))?.relayId === relay.id, `presence of ${workspaceId} on ${relay.id}`);
    },
    async clientCount(relay, workspaceId) {
      const state = (await (await fetch(`${relay.httpUrl}/state`, { headers: admin })).json()) as { workspaces: { workspaceId: string; clientCount: number }[] };
      return state.workspaces.filter((w) => w.workspaceId === workspaceId).reduce((sum, w) => sum + w.clientCount, 0);
    },
    async rejections(relay, reason) {
      const text = await (await fetch(`${relay.httpUrl}/metrics`, { headers: admin })).text();
      const line = text.split('\n').find((l) => l.startsWith('relay_upgrade_rejections_total{') && l.includes(`reason="${reason}"`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    },
    async close() {
      await Promise.all(daemons.splice(0).map((d) => d.stop()));
      await presence.close();
      await Promise.all(relays.map((r) => r.stop()));
      await redis.close();
      await platform.close();
    },
  };
}
