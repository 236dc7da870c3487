// Scenario 2: switching a relay to the operator-managed Redis backplane with
// three replicas; a daemon on one pod and its client on another complete the
// E2EE round trip through the backplane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpOnFailure } from '../helpers/diagnostics.js';
import { loadFixture } from '../helpers/fixtures.js';
import { startPlatform, type E2ePlatform } from '../helpers/platform.js';
import { runProbeCli } from '../helpers/probe.js';
import { useProvider } from '../helpers/provider.js';
import { adminGet, isReadyAtGeneration, metricSum, RelayApi, RELAY_PORT } from '../helpers/relay.js';
import { startTcpRouter } from '../helpers/tcp-router.js';

const provider = useProvider();
const api = new RelayApi(provider.kc, 'e2e-redis');
let platform: E2ePlatform;

dumpOnFailure(provider.ctx, provider.kc, () => api.namespace);

beforeAll(async () => {
  platform = await startPlatform(provider);
  await api.createNamespace(platform);
});
afterAll(async () => {
  await api.deleteNamespace();
  await platform.close();
  await provider.close();
});

describe('the managed Redis backplane', () => {
  it('carries a session whose daemon and client sit on different relay pods', async () => {
    const urls = { VALIDATE_URL: platform.validateUrl, JWKS_URL: platform.jwksUrl };
    await api.create(loadFixture('minimal', urls));
    await api.waitForRelay('relay', 'minimal relay Ready', isReadyAtGeneration);

    // Switch the running relay to what the redis fixture describes.
    const redis = loadFixture('redis-shared', urls) as { spec: Record<string, unknown> };
    await api.patch('relay', { spec: redis.spec });
    const relay = await api.waitForRelay(
      'relay',
      'relay Ready on the redis backplane with 3 replicas',
      (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 3 && r.status.backplane?.mode === 'redis' && r.status.backplane.ready,
    );
    expect(relay.status?.backplane).toMatchObject({ mode: 'redis', ready: true });
    expect(await api.pods('relay', 'redis', { readyOnly: true })).toHaveLength(1);

    const pods = await api.waitForReadyPods('relay', 3);
    const [daemonPod, clientPod] = pods;
    if (daemonPod === undefined || clientPod === undefined) throw new Error('need two relay pods');
    // The probe opens the daemon connection first, then the client: route them to different pods.
    const router = await startTcpRouter({
      host: '127.0.0.1',
      pick: (index) => provider.reach(index === 0 ? daemonPod : clientPod, RELAY_PORT),
    });
    try {
      const tokens = await platform.tokens('ws-redis', 'target-1');
      const probe = await runProbeCli({ url: `ws://127.0.0.1:${String(router.port)}/ws`, workspace: 'ws-redis', target: 'target-1', tokens });
      expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 }, redirects: 0 });
      expect(router.connections.length).toBeGreaterThanOrEqual(2);
    } finally {
      await router.close();
    }
    // The client's relay sent every client frame over the bus to the daemon's relay.
    const token = await api.secretValue('relay-generated', 'admin-token');
    const clientMetrics = await adminGet(provider, clientPod, '/metrics', token);
    expect(metricSum(clientMetrics.body, 'relay_client_messages_routed_bus_total')).toBeGreaterThanOrEqual(20);
  });
});
