// Scenario 5: scaling 3 -> 1 -> 3, the pause annotation freezing changes,
// and deleting the ViewportRelay removing every child.
import { AppsV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import { loadFixture } from '../helpers/fixtures.js';
import { useScenario } from '../helpers/scenario.js';
import { condition, isReadyAtGeneration, type RelayObject } from '../helpers/relay.js';

const scenario = useScenario('e2e-scale');
const { provider, api } = scenario;
const apps = provider.kc.makeApiClient(AppsV1Api);
const PAUSED = 'relay.getviewport.com/paused';
const CHILD_SELECTOR = 'relay.getviewport.com/relay=relay';


const readyWith = (replicas: number) => (r: RelayObject) =>
  isReadyAtGeneration(r) && r.status?.readyReplicas === replicas && r.status.replicas === replicas;

async function scaleTo(replicas: number): Promise<void> {
  await api.patch('relay', { spec: { replicas } });
  await api.waitForRelay('relay', `relay Ready with ${String(replicas)} replicas`, readyWith(replicas));
  expect(await api.waitForReadyPods('relay', replicas)).toHaveLength(replicas);
}

/** children lists every object labelled as this relay's child, by kind. */
async function children(): Promise<string[]> {
  const ns = api.namespace;
  const found: string[] = [];
  const add = (kind: string, items: { metadata?: { name?: string } }[]) => found.push(...items.map((i) => `${kind}/${i.metadata?.name ?? ''}`));
  add('Deployment', (await apps.listNamespacedDeployment({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  add('ReplicaSet', (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  add('Pod', (await api.core.listNamespacedPod({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  add('Service', (await api.core.listNamespacedService({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  add('Secret', (await api.core.listNamespacedSecret({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  add('ServiceAccount', (await api.core.listNamespacedServiceAccount({ namespace: ns, labelSelector: CHILD_SELECTOR })).items);
  return found.sort();
}

describe('scale, pause and delete', () => {
  it('scales 3 -> 1 -> 3, freezes while paused, and leaves nothing behind when deleted', async () => {
    // Several replicas need a shared backplane: the redis fixture starts at 3.
    await api.create(loadFixture('redis-shared', scenario.platformUrls()));
    await api.waitForRelay('relay', 'relay Ready with 3 replicas', readyWith(3));
    await scaleTo(1);
    await scaleTo(3);

    const relayBefore = await api.read('relay');
    await api.patchAnnotations('relay', { [PAUSED]: 'true' });
    await api.waitForRelay('relay', 'status.paused', (r) => r.status?.paused === true);
    await api.patch('relay', { spec: { replicas: 1 } });
    // For as long as it is paused the operator changes nothing, and every
    // condition keeps the generation it last reconciled: `kubectl wait
    // --for=condition=Ready` must not report a spec that was never acted on.
    const patched = (await api.read('relay'))?.metadata.generation ?? 0;
    expect(patched).toBeGreaterThan(relayBefore?.metadata.generation ?? 0);
    for (const until = Date.now() + 5_000; Date.now() < until; ) {
      const r = await api.read('relay');
      expect(condition(r as RelayObject, 'Reconciling')?.reason).toBe('Paused');
      expect(condition(r as RelayObject, 'Ready')?.observedGeneration).toBeLessThan(patched);
      expect(r?.status?.observedGeneration).toBeLessThan(patched);
      const frozen = await apps.readNamespacedDeployment({ name: 'relay', namespace: api.namespace });
      expect(frozen.spec?.replicas).toBe(3);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await api.pods('relay', 'relay', { readyOnly: true })).toHaveLength(3);

    await api.patchAnnotations('relay', { [PAUSED]: null });
    await api.waitForRelay('relay', 'relay Ready with 1 replica after unpausing', (r) => readyWith(1)(r) && r.status?.paused !== true);
    await api.waitForReadyPods('relay', 1);

    expect(await children()).toEqual(
      expect.arrayContaining([
        'Deployment/relay',
        'Deployment/relay-redis',
        'Service/relay',
        'Service/relay-redis',
        'Secret/relay-generated',
        'ServiceAccount/relay',
      ]),
    );
    await api.delete('relay');
    await waitFor('every child of the relay to be gone', async () => ((await children()).length === 0 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    expect(await api.read('relay')).toBeUndefined();
  });
});
