// Pod deletion as the kubelet performs it: for each container preStop, then
// SIGTERM, then SIGKILL once the grace period is over; every stop recorded
// in terminations.jsonl; finally the pod is removed from the API.
import type { V1Container } from '@kubernetes/client-node';
import { appendFileSync } from 'node:fs';
import { errorText, type ContainerState, type PodState, type RunnerContext } from './pod-state.js';

/** Termination records how one container stopped after its pod was deleted. */
export interface Termination {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly graceSeconds: number;
  readonly preStopSeconds: number;
  /** exit is the exit code, or the signal that ended the process. */
  readonly exit: number | string;
  /** killed is true when the grace period ran out and SIGKILL ended the process. */
  readonly killed: boolean;
  readonly sigtermAt: string;
  readonly exitedAt: string;
}

function preStopSeconds(container: V1Container): number {
  return container.lifecycle?.preStop?.sleep?.seconds ?? 0;
}

/** terminatePod stops every container within the pod's grace period, then deletes the pod for good. */
export async function terminatePod(ctx: RunnerContext, state: PodState): Promise<void> {
  if (state.terminating) return;
  state.terminating = true;
  ctx.writeStatus(state);
  const pod = state.pod;
  const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  const deadline = Date.now() + grace * 1000;
  ctx.log(`terminating ${state.namespace}/${state.name} (grace ${String(grace)} s)`);
  await Promise.all([...state.containers.values()].map((c) => stopContainer(ctx, state, c, grace, deadline)));
  if (ctx.stopping()) return;
  try {
    await ctx.core.deleteNamespacedPod({
      name: state.name,
      namespace: state.namespace,
      // With a body, the API server reads DeleteOptions from it alone, not from the query.
      body: { gracePeriodSeconds: 0, preconditions: { uid: state.uid } },
    });
    ctx.log(`removed ${state.namespace}/${state.name}`);
  } catch (error) {
    ctx.log(`final delete of ${state.namespace}/${state.name}: ${errorText(error)}`);
  }
}

/** stopContainer runs preStop, SIGTERMs, SIGKILLs at the deadline and records how the process ended. */
async function stopContainer(ctx: RunnerContext, state: PodState, c: ContainerState, grace: number, deadline: number): Promise<void> {
  clearTimeout(c.retryTimer);
  const component = c.component;
  if (!component) return;
  const preStop = preStopSeconds(c.spec);
  if (preStop > 0 && grace > 0) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(preStop * 1000, Math.max(0, deadline - Date.now()))));
  }
  const sigtermAt = new Date().toISOString();
  // The kubelet grants at least 2 s after preStop, even past the deadline.
  const remaining = grace === 0 ? 0 : Math.max(2_000, deadline - Date.now());
  await component.stop(remaining);
  const exit = await component.exited;
  const record: Termination = {
    namespace: state.namespace,
    pod: state.name,
    container: c.spec.name,
    graceSeconds: grace,
    preStopSeconds: preStop,
    exit,
    killed: exit === 'SIGKILL',
    sigtermAt,
    exitedAt: new Date().toISOString(),
  };
  appendFileSync(ctx.terminationsPath, `${JSON.stringify(record)}\n`);
  ctx.log(`${component.name} ended: ${String(exit)}${record.killed ? ' (killed after the grace period)' : ''}`);
  c.component = undefined;
}
