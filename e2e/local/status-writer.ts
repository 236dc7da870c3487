// Pod status as the kubelet reports it: built from the containers' state,
// written only when it changed, one patch at a time per pod.
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { errorText, type PodState } from './pod-state.js';
import { isoSeconds, podStatus, type ContainerView } from './pod-status.js';

/** statusWriter returns writeStatus: patch a pod's status if it differs from the last one written. */
export function statusWriter(core: CoreV1Api, log: (message: string) => void): (state: PodState) => void {
  return (state) => {
    if (state.gone) return;
    const status = currentStatus(state);
    const text = JSON.stringify(status);
    if (text === state.lastStatus) return;
    state.lastStatus = text;
    state.writing = state.writing.then(async () => {
      if (state.gone || state.lastStatus !== text) return;
      try {
        await core.patchNamespacedPodStatus(
          { name: state.name, namespace: state.namespace, body: { status } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (error) {
        state.lastStatus = '';
        log(`status of ${state.namespace}/${state.name}: ${errorText(error)}`);
      }
    });
  };
}

/** currentStatus is the pod's status now; it records Ready transition times in state.transitions. */
function currentStatus(state: PodState): Record<string, unknown> {
  const now = isoSeconds(new Date());
  const views: ContainerView[] = [...state.containers.entries()].map(([name, c]) => ({
    name,
    image: c.spec.image ?? '',
    pid: c.component && !c.component.hasExited() ? c.component.pid : undefined,
    ready: c.ready && !state.terminating,
    startedAt: c.startedAt,
    restartCount: c.restartCount,
    waiting: c.waiting,
    lastExit: c.lastExit,
  }));
  const ready = views.length > 0 && views.every((v) => v.ready);
  for (const type of ['Ready', 'ContainersReady']) state.transitions[`${type}=${String(ready)}`] ??= now;
  // A flip resets the other side's transition time.
  delete state.transitions[`Ready=${String(!ready)}`];
  delete state.transitions[`ContainersReady=${String(!ready)}`];
  return podStatus({ podIP: state.ip, startTime: state.startTime, scheduledAt: state.scheduledAt, containers: views }, state.transitions);
}
