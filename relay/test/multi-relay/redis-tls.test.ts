// RELAY_REDIS_TLS_CA_PATH end to end: relay processes on a redis-server that
// only speaks TLS with a private CA. With the CA file the backplane connects
// and the relay is ready; without it the certificate is refused and the relay
// stays unready, never falling back to an unverified connection.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../backplane/wait-for.js';
import { selfSignedCert, startRedisServer, type TestRedisServer } from '../redis-server.js';
import { startRelayProcess, type RelayProcess } from './relay-process.js';

// Each wait names what it waits for; the test budget only has to outlast them.
vi.setConfig({ testTimeout: 120_000 });

const HMAC_KEY = 'redis-tls-bus-hmac-key-0123456789';
const cert = selfSignedCert();

describe.skipIf(cert === null)('a relay on rediss:// with RELAY_REDIS_TLS_CA_PATH', () => {
  let redis: TestRedisServer;
  let dir: string;
  const relays: RelayProcess[] = [];
  beforeAll(async () => {
    redis = await startRedisServer({ tls: cert! });
    dir = mkdtempSync(join(tmpdir(), 'relay-redis-ca-'));
    writeFileSync(join(dir, 'ca.pem'), cert!.certPem);
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.kill()));
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => ({
    RELAY_BACKPLANE_MODE: 'redis',
    RELAY_BUS_HMAC_KEY: HMAC_KEY,
    RELAY_INTERNAL_KEY: 'redis-tls-internal-key-0123456789',
    RELAY_REDIS_URL: `rediss://127.0.0.1:${redis.port}`,
    RELAY_REDIS_KEY_PREFIX: 'tls',
    ...extra,
  });

  it('connects with the CA file and is ready; without it, refuses the certificate and stays unready', async () => {
    const trusted = await startRelayProcess('tls-trusted', env({ RELAY_REDIS_TLS_CA_PATH: join(dir, 'ca.pem') }));
    relays.push(trusted);
    await waitFor(() => trusted.isReady(), 'the relay with the CA to be ready');
    expect(await trusted.metric('relay_backplane_healthy')).toBe(1);

    const untrusted = await startRelayProcess('tls-untrusted', env({}), undefined, false);
    relays.push(untrusted);
    await waitFor(() => untrusted.output().includes('backplane_connect_failed'), 'the relay without the CA to fail its TLS handshake');
    expect(await untrusted.isReady()).toBe(false);
    expect(await untrusted.metric('relay_backplane_healthy')).toBe(0);
  });
});
