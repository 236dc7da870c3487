// Scenario 3: pinned routing. Each relay pod has its own public host; a client
// that lands on the wrong pod is told RELAY_REDIRECT with the daemon pod's URL,
// follows it, and the session continues there.
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_DOMAIN } from '../local/cluster.js';
import { dumpOnFailure } from '../helpers/diagnostics.js';
import { loadFixture } from '../helpers/fixtures.js';
import { startPlatform, type E2ePlatform } from '../helpers/platform.js';
import { runProbeCli } from '../helpers/probe.js';
import { useProvider } from '../helpers/provider.js';
import { isReadyAtGeneration, RelayApi, RELAY_PORT } from '../helpers/relay.js';
import { startTcpRouter } from '../helpers/tcp-router.js';

const provider = useProvider();
const api = new RelayApi(provider.kc, 'e2e-pinned');
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

describe('pinned routing', () => {
  // Per-pod hosts need DNS and an ingress; only the local provider maps them (docs/e2e.md).
  it.skipIf(!provider.perPodHosts)('redirects a client from the wrong pod to the daemon pod and continues the session', async () => {
    await api.create(
      loadFixture('pinned', { VALIDATE_URL: platform.validateUrl, JWKS_URL: platform.jwksUrl, POD_HOST_DOMAIN: INGRESS_DOMAIN }),
    );
    await api.waitForRelay('relay', 'pinned relay Ready with 2 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);
    const sts = await provider.kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: 'relay', namespace: api.namespace });
    expect(sts.status?.readyReplicas).toBe(2);
    const services = await api.core.listNamespacedService({ namespace: api.namespace });
    expect(services.items.map((s) => s.metadata?.name)).toEqual(expect.arrayContaining(['relay', 'relay-pods', 'relay-0', 'relay-1']));

    const pods = await api.waitForReadyPods('relay', 2);
    expect(pods.map((p) => p.metadata?.name)).toEqual(['relay-0', 'relay-1']);
    const [daemonPod, wrongPod] = pods;
    if (daemonPod === undefined || wrongPod === undefined) throw new Error('need two relay pods');
    // The daemon lands on relay-0; the client (second connection) on relay-1, the wrong one.
    const router = await startTcpRouter({
      host: '127.0.0.1',
      pick: (index) => provider.reach(index === 0 ? daemonPod : wrongPod, RELAY_PORT),
    });
    try {
      const tokens = await platform.tokens('ws-pinned', 'target-1');
      const probe = await runProbeCli({ url: `ws://127.0.0.1:${String(router.port)}/ws`, workspace: 'ws-pinned', target: 'target-1', tokens });
      expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 } });
      expect(probe.report?.redirects).toBeGreaterThanOrEqual(1);
      // The client reconnected to relay-0's own address, not through the router again.
      expect(router.connections.map((c) => c.index)).toEqual([0, 1]);
    } finally {
      await router.close();
    }
  });
});
