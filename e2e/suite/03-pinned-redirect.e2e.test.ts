// Scenario 3: pinned routing. Each relay pod has its own public host; a client
// that lands on the wrong pod is told RELAY_REDIRECT with the daemon pod's URL,
// follows it, and the session continues there.
import { AppsV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { INGRESS_DOMAIN } from '../local/cluster.js';
import { loadFixture } from '../helpers/fixtures.js';
import { probeAcrossPods, useScenario } from '../helpers/scenario.js';
import { isReadyAtGeneration } from '../helpers/relay.js';

const scenario = useScenario('e2e-pinned');
const { provider, api } = scenario;

describe('pinned routing', () => {
  // Per-pod hosts need DNS and an ingress; only the local provider maps them (docs/e2e.md).
  it.skipIf(!provider.perPodHosts)('redirects a client from the wrong pod to the daemon pod and continues the session', async () => {
    await api.create(
      loadFixture('pinned', { VALIDATE_URL: scenario.platform().validateUrl, JWKS_URL: scenario.platform().jwksUrl, POD_HOST_DOMAIN: INGRESS_DOMAIN }),
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
    const { probe, connections } = await probeAcrossPods(scenario, daemonPod, wrongPod, 'ws-pinned');
    expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 } });
    expect(probe.report?.redirects).toBeGreaterThanOrEqual(1);
    // After the redirect the client went to relay-0's own address, not through the router again.
    expect(connections.map((c) => c.index)).toEqual([0, 1]);
  });
});
