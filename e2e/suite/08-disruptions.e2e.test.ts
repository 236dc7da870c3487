// Scenario 8 (kind only: real kubelets on several nodes): disruptions under
// traffic. A relay pod deleted mid-stream drains and its sessions reconnect
// to another pod; `kubectl drain` of the worker holding two of the three
// relay pods evicts them only as fast as the PodDisruptionBudget allows (one
// unavailable at a time; the managed Redis is moved off that node first).
// Every frame of the probe arrives intact: none is lost without an answer.
import type { V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import { runCommand, type CommandResult } from '../helpers/command.js';
import { loadFixture } from '../helpers/fixtures.js';
import type { ProbeRun } from '../helpers/probe.js';
import { isPodReady, isReadyAtGeneration } from '../helpers/relay.js';
import { useScenario } from '../helpers/scenario.js';
import { startStreamingProbe } from '../helpers/streaming.js';

const scenario = useScenario('e2e-disrupt');
const { provider, api } = scenario;

const FRAMES = 2000;
const REPLICAS = 3;

const kubectl = (...args: string[]): Promise<CommandResult> => runCommand(provider.ctx.kubectl, ['--kubeconfig', provider.ctx.kubeconfigPath, ...args]);

/** allReplaced waits until REPLICAS relay pods are ready, none terminating, and none is in `gone`. */
function allReplaced(what: string, gone: (pod: V1Pod) => boolean): Promise<true> {
  return waitFor(
    what,
    async () => {
      const all = await api.pods('relay', 'relay', { readyOnly: false });
      const settled = all.length === REPLICAS && all.every((p) => isPodReady(p) && p.metadata?.deletionTimestamp === undefined && !gone(p));
      return settled ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 250 },
  );
}

/**
 * moveRedisOff reschedules the managed Redis (one pod) away from a cordoned
 * node: a drain that evicted it would take the backplane from every relay for
 * a few seconds, and with it their readiness (06-break-and-recover covers that
 * outage); here the relays' budget is what is measured.
 */
async function moveRedisOff(node: string): Promise<void> {
  const [redis] = await api.pods('relay', 'redis', { readyOnly: false });
  if (redis?.spec?.nodeName !== node) return;
  await api.core.deleteNamespacedPod({ name: redis.metadata?.name ?? '', namespace: api.namespace });
  await waitFor(
    `Redis running off ${node}`,
    async () => {
      const pods = await api.pods('relay', 'redis', { readyOnly: true });
      return pods.length === 1 && pods[0]?.spec?.nodeName !== node ? true : undefined;
    },
    { timeoutMs: 120_000 },
  );
  await api.waitForRelay('relay', 'relays Ready on the moved Redis', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === REPLICAS && r.status.backplane?.ready === true);
  await allReplaced('relays ready on the moved Redis', () => false);
}

function expectEveryFrame(probe: ProbeRun): void {
  expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: FRAMES, intact: FRAMES, failed: 0 } });
  expect(probe.report?.reconnects, probe.output).toBeGreaterThanOrEqual(1);
}

describe.skipIf(provider.ctx.provider !== 'kind')('disruptions under traffic', () => {
  beforeAll(async () => {
    const relay = loadFixture('rolling', scenario.platformUrls()) as { spec: Record<string, unknown> };
    // Three relays over kind's two workers: two on one, one on the other.
    relay.spec.replicas = REPLICAS;
    relay.spec.topologySpread = { topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' };
    await api.create(relay);
    await api.waitForRelay('relay', 'relay Ready with 3 replicas', (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === REPLICAS);
  });

  it('a relay pod deleted mid-stream: the daemon reconnects to another pod and every frame arrives', async () => {
    await api.waitForReadyPods('relay', REPLICAS);
    const stream = await startStreamingProbe(scenario, 'ws-deleted', FRAMES);
    let probe: ProbeRun | undefined;
    try {
      const victim = stream.podOf(0);
      if (victim === undefined) throw new Error('the daemon connection went to no pod');
      await api.core.deleteNamespacedPod({ name: victim, namespace: api.namespace });
      await allReplaced(`a replacement for ${victim}`, (p) => p.metadata?.name === victim);
    } finally {
      probe = await stream.finish();
    }
    expectEveryFrame(probe);
  });

  it('kubectl drain of a worker under traffic: the PDB lets one relay go at a time and every frame arrives', async () => {
    const pods = await api.waitForReadyPods('relay', REPLICAS);
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
    const [node, onNode] = [...perNode].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    expect(onNode, JSON.stringify([...perNode])).toBe(2);

    let probe: ProbeRun | undefined;
    let drain: CommandResult | undefined;
    let minReady = REPLICAS;
    await kubectl('cordon', node);
    try {
      await moveRedisOff(node);
      const stream = await startStreamingProbe(scenario, 'ws-drain', FRAMES);
      try {
        const draining = kubectl('drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=240s');
        let drained: CommandResult | undefined;
        void draining.then((result) => (drained = result));
        drain = await waitFor(
          `kubectl drain ${node}`,
          async () => {
            minReady = Math.min(minReady, (await api.pods('relay', 'relay', { readyOnly: true })).length);
            return drained;
          },
          { timeoutMs: 300_000, intervalMs: 250 },
        );
        await allReplaced(`relays moved off ${node}`, (p) => p.spec?.nodeName === node);
      } finally {
        probe = await stream.finish();
      }
    } finally {
      await kubectl('uncordon', node);
    }
    const output = `${drain.stdout}${drain.stderr}`;
    expect(drain.code, output).toBe(0);
    // Both relays on the node were asked to go at once; the budget (one
    // unavailable) refused the second until the first one's replacement was ready.
    expect(output).toContain('disruption budget');
    expect(minReady, output).toBeGreaterThanOrEqual(REPLICAS - 1);
    expectEveryFrame(probe);
  });
});
