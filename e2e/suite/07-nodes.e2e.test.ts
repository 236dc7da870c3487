// Scenario 7 (kind only: it needs several real nodes): the relay's topology
// spread places its pods on different nodes, and a session whose daemon and
// client sit on relays on different nodes completes through the managed Redis
// backplane and the pods' links across the pod network.
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../helpers/fixtures.js';
import { isReadyAtGeneration } from '../helpers/relay.js';
import { probeAcrossPods, useScenario } from '../helpers/scenario.js';

const scenario = useScenario('e2e-nodes');
const { provider, api } = scenario;

describe('relays on several nodes', () => {
  it.skipIf(provider.ctx.provider !== 'kind')('spreads relay pods over the nodes and carries a session between pods on different nodes', async () => {
    const relay = loadFixture('redis-shared', scenario.platformUrls()) as { spec: Record<string, unknown> };
    // Two replicas: the tainted control-plane node still counts as a spread
    // domain (nodeTaintsPolicy defaults to Ignore), so a third pod would break
    // a skew of one under DoNotSchedule (docs/e2e.md, known problems).
    relay.spec.replicas = 2;
    relay.spec.topologySpread = { topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' };
    await api.create(relay);
    await api.waitForRelay('relay', 'relay Ready with 2 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);

    const pods = await api.waitForReadyPods('relay', 2);
    const nodes = new Set(pods.map((p) => p.spec?.nodeName));
    expect(nodes.size, [...nodes].join(', ')).toBe(2);

    const [daemonPod, clientPod] = pods;
    if (daemonPod === undefined || clientPod === undefined) throw new Error('need two relay pods');
    const { probe } = await probeAcrossPods(scenario, daemonPod, clientPod, 'ws-nodes');
    expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 }, redirects: 0 });
  });
});
