// Scenario 4: a rolling update while a probe session streams. The operator
// rolls the relay pods one at a time (surge 1, never fewer ready than
// wanted), each old relay drains and tells its peers to reconnect, the probe
// reconnects to a new pod and completes, and no relay is killed before its
// drain ends.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import { loadFixture } from '../helpers/fixtures.js';
import { runProbeCli } from '../helpers/probe.js';
import { useScenario } from '../helpers/scenario.js';
import { isPodReady, isReadyAtGeneration, RELAY_PORT } from '../helpers/relay.js';
import { startTcpRouter } from '../helpers/tcp-router.js';

const scenario = useScenario('e2e-rolling');
const { provider, api } = scenario;

const FRAMES = 2000;

type RollingFixture = Record<string, unknown> & { spec: { pod: { env: { name: string; value: string }[] } } };

describe('a rolling update', () => {
  it('rolls pods one by one while a probe session streams; the probe reconnects and completes; drains are respected', async () => {
    const rolling = loadFixture('rolling', scenario.platformUrls()) as RollingFixture;
    await api.create(rolling);
    await api.waitForRelay('relay', 'relay Ready with 2 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);
    const oldPods = (await api.waitForReadyPods('relay', 2)).map((p) => p.metadata?.name ?? '');

    // A Service stand-in: each new connection goes to a ready, non-terminating relay pod, round robin.
    const router = await startTcpRouter({
      host: '127.0.0.1',
      pick: async (index) => {
        const ready = await api.pods('relay', 'relay', { readyOnly: true });
        const pod: V1Pod | undefined = ready[index % Math.max(1, ready.length)];
        return pod === undefined ? undefined : provider.reach(pod, RELAY_PORT);
      },
    });
    // Slow the stream so it outlasts the rollout; lifted once the rollout is over.
    router.latencyMs = 30;
    try {
      const tokens = await scenario.platform().tokens('ws-rolling', 'target-1');
      const probing = runProbeCli({
        url: `ws://127.0.0.1:${String(router.port)}/ws`,
        workspace: 'ws-rolling',
        target: 'target-1',
        tokens,
        frames: FRAMES,
        reconnect: true,
        timeoutMs: 20_000,
      });
      await waitFor('the probe to be streaming', () => (router.bytesToCallers > 16_384 ? true : undefined), { timeoutMs: 60_000 });

      // Change one env value: a new pod template, so the Deployment rolls.
      const env = rolling.spec.pod.env.map((e) => (e.name === 'E2E_REVISION' ? { ...e, value: '2' } : e));
      await api.patch('relay', { spec: { pod: { env } } });
      let minReady = Number.POSITIVE_INFINITY;
      let maxRunning = 0;
      await waitFor(
        'the rollout to replace both pods',
        async () => {
          const all = await api.pods('relay', 'relay', { readyOnly: false });
          const live = all.filter((p) => p.metadata?.deletionTimestamp === undefined);
          minReady = Math.min(minReady, live.filter(isPodReady).length);
          maxRunning = Math.max(maxRunning, live.length);
          const names = all.map((p) => p.metadata?.name ?? '');
          return all.length === 2 && live.every(isPodReady) && names.every((n) => !oldPods.includes(n)) ? true : undefined;
        },
        { timeoutMs: 150_000, intervalMs: 250 },
      );
      router.latencyMs = 0;
      const probe = await probing;
      expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: FRAMES, intact: FRAMES, failed: 0 } });
      expect(probe.report?.reconnects).toBeGreaterThanOrEqual(1);
      // maxUnavailable 0, maxSurge 1: one extra pod at most, never fewer than 2 ready.
      expect(maxRunning).toBeLessThanOrEqual(3);
      expect(minReady).toBeGreaterThanOrEqual(2);
    } finally {
      await router.close();
    }
    await api.waitForRelay('relay', 'relay Ready after the rollout', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);

    const terminations = provider.terminations();
    if (terminations !== undefined) {
      const old = terminations.filter((t) => t.namespace === api.namespace && oldPods.includes(t.pod));
      expect(old.map((t) => t.pod).sort()).toEqual([...oldPods].sort());
      for (const t of old) {
        // preStop ran, then the relay finished draining and exited by itself before the grace period ended.
        expect(t).toMatchObject({ preStopSeconds: 2, killed: false, exit: 0 });
        expect(t.graceSeconds).toBe(2 + 4 + 10);
      }
    }
  });
});
