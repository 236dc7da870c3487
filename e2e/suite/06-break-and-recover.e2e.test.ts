// Scenario 6: breaking things on purpose. A deleted Redis pod is replaced and
// the relays route through the new one; a managed Redis that cannot start (with
// the pod-level reason) and
// a revoked Secret show up in the status with a clear reason (never the
// secret's value), a regenerated Redis password reaches Redis and the relays
// alike, and the relay recovers once fixed.
import type { V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import { loadFixture } from '../helpers/fixtures.js';
import { probeAcrossPods, useScenario } from '../helpers/scenario.js';
import { condition, isPodReady, isReadyAtGeneration, type RelayObject } from '../helpers/relay.js';

const scenario = useScenario('e2e-break');
const { api } = scenario;

beforeAll(async () => {
  await api.create(loadFixture('redis-shared', scenario.platformUrls()));
  await api.waitForRelay('relay', 'relay Ready with 3 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 3);
});

const readyAgain = (r: RelayObject) =>
  isReadyAtGeneration(r) && r.status?.readyReplicas === 3 && r.status.backplane?.ready === true && condition(r, 'Stalled')?.status === 'False';

/** crossPodRoundTrip runs the probe with its daemon on one relay pod and its client on another. */
async function crossPodRoundTrip(workspace: string): Promise<void> {
  const [daemonPod, clientPod] = await api.waitForReadyPods('relay', 3);
  if (daemonPod === undefined || clientPod === undefined) throw new Error('need two relay pods');
  const { probe } = await probeAcrossPods(scenario, daemonPod, clientPod, workspace);
  expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 } });
}

describe('breaking the relay on purpose', () => {
  it('recovers from a deleted Redis pod: a new one starts and the relays route across pods through it', async () => {
    const [redisPod] = await api.pods('relay', 'redis', { readyOnly: true });
    if (redisPod === undefined) throw new Error('no ready Redis pod');
    const oldName = redisPod.metadata?.name;
    await api.core.deleteNamespacedPod({ name: oldName ?? '', namespace: api.namespace });
    // The outage lasts about a second, too short to promise a status write; the recovery is what must hold.
    await waitFor('a new Redis pod, Ready, and the old one gone', async () => {
      const pods = await api.pods('relay', 'redis', { readyOnly: false });
      return pods.length === 1 && pods[0]?.metadata?.name !== oldName && isPodReady(pods[0] as V1Pod) ? true : undefined;
    });
    const back = await api.waitForRelay('relay', 'relay Ready with the new Redis pod', readyAgain);
    expect(back.status?.backplane).toMatchObject({ mode: 'redis', ready: true });
    // The relays reconnected to the new Redis (same Service address): presence and bus work again.
    await crossPodRoundTrip('ws-after-redis');
  });

  it('recovers from a deleted generated Secret: the new Redis password reaches Redis and the relays alike', async () => {
    const oldPassword = await api.secretValue('relay-generated', 'redis-password');
    const [redisPod] = await api.pods('relay', 'redis', { readyOnly: true });
    const oldRedis = redisPod?.metadata?.name;
    await api.core.deleteNamespacedSecret({ name: 'relay-generated', namespace: api.namespace });
    await waitFor('a new generated Secret with a new Redis password', async () => {
      const password = await api.secretValue('relay-generated', 'redis-password').catch(() => undefined);
      return password !== undefined && password !== oldPassword ? true : undefined;
    });
    // Redis reads its password only when it starts: it must restart with the new one, as the relays do.
    await waitFor('a new Redis pod, Ready', async () => {
      const pods = await api.pods('relay', 'redis', { readyOnly: false });
      return pods.length === 1 && pods[0]?.metadata?.name !== oldRedis && isPodReady(pods[0] as V1Pod) ? true : undefined;
    });
    await api.waitForRelay('relay', 'relay Ready with the new password', readyAgain);
    await crossPodRoundTrip('ws-after-password');
  });

  it('says why the managed Redis cannot start (its image cannot be pulled), and recovers when fixed', async () => {
    // A Redis image that cannot be pulled: the Recreate strategy stops the old Redis first, the new one never starts.
    await api.patch('relay', { spec: { backplane: { redis: { managed: { image: 'registry.invalid/e2e/no-such-redis:1' } } } } });
    const broken = await api.waitForRelay(
      'relay',
      'the Redis outage to show in the status',
      (r) => r.status?.observedGeneration === r.metadata.generation && condition(r, 'Ready')?.reason === 'ImagePullFailed',
    );
    // The pod-level cause, not only "the backplane is not ready" (the operator reads the Redis pod's state).
    expect(condition(broken, 'Ready')).toMatchObject({ status: 'False', reason: 'ImagePullFailed' });
    expect(condition(broken, 'Ready')?.message).toContain('registry.invalid/e2e/no-such-redis:1');
    expect(broken.status?.backplane?.ready).toBe(false);

    await api.patch('relay', { spec: { backplane: { redis: { managed: { image: null } } } } });
    await api.waitForRelay('relay', 'relay Ready once Redis runs again', readyAgain);
    await crossPodRoundTrip('ws-after-redis-image');
  });

  it('reports SecretNotFound (without the secret value) by itself when the platform Secret is revoked, and recovers when it is back', async () => {
    // No change to the relay: the operator watches the Secrets its spec names (resync is 10 minutes away).
    await api.core.deleteNamespacedSecret({ name: 'platform', namespace: api.namespace });
    const broken = await api.waitForRelay('relay', 'the missing Secret to show in the status', isSecretNotFound, 20_000);
    expect(condition(broken, 'Ready')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(condition(broken, 'Stalled')?.message).toContain('platform/internal-key');
    expect(JSON.stringify(broken.status)).not.toContain(scenario.platform().internalKey);
    const events = await api.core.listNamespacedEvent({ namespace: api.namespace });
    expect(JSON.stringify(events.items)).not.toContain(scenario.platform().internalKey);

    await api.core.createNamespacedSecret({
      namespace: api.namespace,
      body: { metadata: { name: 'platform' }, stringData: { 'internal-key': scenario.platform().internalKey } },
    });
    await api.waitForRelay('relay', 'relay Ready again once the Secret is back', readyAgain, 30_000);
    await crossPodRoundTrip('ws-after-secret');
  });
});

const isSecretNotFound = (r: RelayObject) => condition(r, 'Ready')?.reason === 'SecretNotFound' && condition(r, 'Stalled')?.status === 'True';

