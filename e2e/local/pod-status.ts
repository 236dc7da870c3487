// Pod status as the kubelet reports it, built from the runner's view of each
// container. Pure: the same view always gives the same status.

/** ContainerView is what the runner knows about one container. */
export interface ContainerView {
  readonly name: string;
  readonly image: string;
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly startedAt: string | undefined;
  readonly restartCount: number;
  /** waiting explains why the container does not run (e.g. CreateContainerConfigError). */
  readonly waiting: { reason: string; message: string } | undefined;
  readonly lastExit: { exitCode: number; reason: string; finishedAt: string } | undefined;
}

/** PodView is what the runner knows about one pod. */
export interface PodView {
  readonly podIP: string;
  readonly startTime: string;
  readonly scheduledAt: string;
  readonly containers: readonly ContainerView[];
}

type Condition = { type: string; status: 'True' | 'False'; lastTransitionTime: string; reason?: string };

/** podStatus renders the status subresource (phase, IPs, conditions, container statuses). */
export function podStatus(view: PodView, transitions: Readonly<Record<string, string>>): Record<string, unknown> {
  const allRunning = view.containers.every((c) => c.pid !== undefined);
  const allReady = view.containers.length > 0 && view.containers.every((c) => c.ready);
  const condition = (type: string, on: boolean, reason?: string): Condition => ({
    type,
    status: on ? 'True' : 'False',
    lastTransitionTime: transitions[`${type}=${String(on)}`] ?? view.startTime,
    ...(on || reason === undefined ? {} : { reason }),
  });
  return {
    phase: allRunning || view.containers.some((c) => c.restartCount > 0) ? 'Running' : 'Pending',
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: view.podIP,
    podIPs: [{ ip: view.podIP }],
    startTime: view.startTime,
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('ContainersReady', allReady, 'ContainersNotReady'),
      condition('Ready', allReady, 'ContainersNotReady'),
      { type: 'PodScheduled', status: 'True', lastTransitionTime: view.scheduledAt },
    ],
    containerStatuses: view.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `local://${c.image}`,
      ...(c.pid !== undefined ? { containerID: `local://${String(c.pid)}` } : {}),
      ready: c.ready,
      started: c.pid !== undefined,
      restartCount: c.restartCount,
      state:
        c.pid !== undefined && c.startedAt !== undefined
          ? { running: { startedAt: c.startedAt } }
          : { waiting: c.waiting ?? { reason: 'ContainerCreating', message: '' } },
      ...(c.lastExit
        ? { lastState: { terminated: { exitCode: c.lastExit.exitCode, reason: c.lastExit.reason, finishedAt: c.lastExit.finishedAt } } }
        : {}),
    })),
  };
}

/** isoSeconds formats a time as metav1.Time (RFC 3339, whole seconds). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
