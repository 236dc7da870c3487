// A long probe session for disruption scenarios (rolling update, a deleted
// pod, a drained node): the probe connects through a stand-in Service that
// sends each new connection to a ready, live relay pod, round robin, and
// answers are slowed so the stream outlasts the disruption. The test lifts
// the delay once the disruption is over and reads the probe's report.
import { waitFor } from '../controlplane/wait.js';
import { runProbeCli, type ProbeRun } from './probe.js';
import { RELAY_PORT } from './relay.js';
import type { Scenario } from './scenario.js';
import { startTcpRouter, type TcpRouter } from './tcp-router.js';

/** StreamingProbe is a probe session under way. */
export interface StreamingProbe {
  readonly router: TcpRouter;
  /** podOf names the relay pod connection `index` went to (0: the daemon's first, 1: the client's first). */
  podOf(index: number): string | undefined;
  /** finish lifts the delay, waits for the probe's report and closes the router. */
  finish(): Promise<ProbeRun>;
}

/** startStreamingProbe starts `frames` frames with --reconnect and resolves once they flow. */
export async function startStreamingProbe(s: Scenario, workspace: string, frames: number, latencyMs = 30): Promise<StreamingProbe> {
  const picked: (string | undefined)[] = [];
  const router = await startTcpRouter({
    host: '127.0.0.1',
    pick: async (index) => {
      const ready = await s.api.pods('relay', 'relay', { readyOnly: true });
      const pod = ready[index % Math.max(1, ready.length)];
      picked[index] = pod?.metadata?.name;
      return pod === undefined ? undefined : s.provider.reach(pod, RELAY_PORT);
    },
  });
  router.latencyMs = latencyMs;
  const probing = runProbeCli({
    url: `ws://127.0.0.1:${String(router.port)}/ws`,
    workspace,
    target: 'target-1',
    tokens: await s.platform().tokens(workspace, 'target-1'),
    frames,
    reconnect: true,
    timeoutMs: 20_000,
  });
  const finish = async (): Promise<ProbeRun> => {
    router.latencyMs = 0;
    try {
      return await probing;
    } finally {
      await router.close();
    }
  };
  try {
    await waitFor('the probe to be streaming', () => (router.bytesToCallers > 16_384 ? true : undefined), { timeoutMs: 60_000 });
  } catch (error) {
    const run = await finish();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${run.output}`);
  }
  return { router, podOf: (index) => picked[index], finish };
}
