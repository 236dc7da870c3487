// Scenario 4: a rolling update (a new image tag and a changed env value)
// while a probe session streams. The operator rolls the relay pods one at a
// time (surge 1, never fewer ready than wanted), each old relay drains and
// tells its peers to reconnect, the probe reconnects to a new pod and
// completes, and no relay is killed before its drain ends.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import { loadFixture } from '../helpers/fixtures.js';
import { useScenario } from '../helpers/scenario.js';
import { isPodReady, isReadyAtGeneration } from '../helpers/relay.js';
import { startStreamingProbe } from '../helpers/streaming.js';

const scenario = useScenario('e2e-rolling');
const { provider, api } = scenario;

const FRAMES = 2000;
// The same relay under another tag (e2e/kind/run.sh loads it; the local runner plays any *relay* image).
const nextImage = `${provider.ctx.relayImage}-next`;

type RollingFixture = Record<string, unknown> & { spec: { pod: { env: { name: string; value: string }[] } } };

describe('a rolling update', () => {
  it('rolls pods one by one while a probe session streams; the probe reconnects and completes; drains are respected', async () => {
    const rolling = loadFixture('rolling', scenario.platformUrls()) as RollingFixture;
    await api.create(rolling);
    await api.waitForRelay('relay', 'relay Ready with 2 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);
    const oldPods = (await api.waitForReadyPods('relay', 2)).map((p) => p.metadata?.name ?? '');

    // Slowed so it outlasts the rollout; lifted once the rollout is over.
    const stream = await startStreamingProbe(scenario, 'ws-rolling', FRAMES);
    try {
      // A new image tag and one changed env value: a new pod template, so the Deployment rolls.
      const env = rolling.spec.pod.env.map((e) => (e.name === 'E2E_REVISION' ? { ...e, value: '2' } : e));
      await api.patch('relay', { spec: { image: nextImage, pod: { env } } });
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
      const probe = await stream.finish();
      expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: FRAMES, intact: FRAMES, failed: 0 } });
      expect(probe.report?.reconnects).toBeGreaterThanOrEqual(1);
      // maxUnavailable 0, maxSurge 1: one extra pod at most, never fewer than 2 ready.
      expect(maxRunning).toBeLessThanOrEqual(3);
      expect(minReady).toBeGreaterThanOrEqual(2);
    } finally {
      await stream.finish();
    }
    await api.waitForRelay('relay', 'relay Ready after the rollout', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 2);
    const images = (await api.pods('relay', 'relay', { readyOnly: true })).map((p) => p.spec?.containers[0]?.image);
    expect(images).toEqual([nextImage, nextImage]);

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
