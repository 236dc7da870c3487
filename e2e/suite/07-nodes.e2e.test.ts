// Scenario 7 (kind only: it needs several real nodes): the relay's topology
// spread places its pods on different nodes, and a session whose daemon and
// client sit on relays on different nodes completes through the managed Redis
// backplane and the pods' links across the pod network.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../helpers/fixtures.js';
import { isReadyAtGeneration } from '../helpers/relay.js';
import { probeAcrossPods, useScenario } from '../helpers/scenario.js';

const scenario = useScenario('e2e-nodes');
const { provider, api } = scenario;

describe('relays on several nodes', () => {
  it.skipIf(provider.ctx.provider !== 'kind')('spreads relay pods over the nodes and carries a session between pods on different nodes', async () => {
    const relay = loadFixture('redis-shared', scenario.platformUrls()) as { spec: Record<string, unknown> };
    // Three replicas on kind's two workers: the operator's constraints honor
    // node taints, so the tainted control plane is not counted as an empty
    // domain and a skew of one allows two pods on one worker and one on the other.
    relay.spec.replicas = 3;
    relay.spec.topologySpread = { topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' };
    await api.create(relay);
    await api.waitForRelay('relay', 'relay Ready with 3 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 3);

    const pods = await api.waitForReadyPods('relay', 3);
    const perNode = new Map<string, V1Pod[]>();
    for (const pod of pods) {
      const node = pod.spec?.nodeName ?? '';
      perNode.set(node, [...(perNode.get(node) ?? []), pod]);
    }
    const layout = [...perNode].map(([node, onNode]) => `${node}: ${String(onNode.length)}`).join(', ');
    expect([...perNode.values()].map((onNode) => onNode.length).sort(), layout).toEqual([1, 2]);

    const [daemonPod, clientPod] = [...perNode.values()].map((onNode) => onNode[0]);
    if (daemonPod === undefined || clientPod === undefined) throw new Error(`need relay pods on two nodes (${layout})`);
    const { probe } = await probeAcrossPods(scenario, daemonPod, clientPod, 'ws-nodes');
    expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 }, redirects: 0 });
  });
});
