// What the pod runner knows about each pod it serves, and what its parts
// (containers, status, termination, readiness) share.
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';
import type { Component } from '../controlplane/process.js';
import type { LaunchSettings } from './launch.js';
import { isoSeconds, type ContainerView } from './pod-status.js';
import type { EndpointPod, ServiceProxies } from './service-proxy.js';

/** ContainerState is one container of a pod: its process, readiness and restart history. */
export interface ContainerState {
  readonly spec: V1Container;
  component: Component | undefined;
  ready: boolean;
  startedAt: string | undefined;
  restartCount: number;
  waiting: { reason: string; message: string } | undefined;
  lastExit: ContainerView['lastExit'];
  probeFailures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

/** PodState is one pod bound to the runner's Node. */
export interface PodState {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly startTime: string;
  readonly scheduledAt: string;
  pod: V1Pod;
  readonly containers: Map<string, ContainerState>;
  readonly transitions: Record<string, string>;
  terminating: boolean;
  gone: boolean;
  lastStatus: string;
  writing: Promise<void>;
}

/** RunnerContext is what the runner's parts share: API client, settings, log and the status writer. */
export interface RunnerContext {
  readonly core: CoreV1Api;
  readonly dir: string;
  readonly recordIn: string | undefined;
  readonly launch: Omit<LaunchSettings, 'workDir'>;
  readonly pathEnv: string;
  readonly terminationsPath: string;
  readonly proxies: ServiceProxies;
  readonly log: (message: string) => void;
  /** stopping is true once the runner itself is shutting down. */
  stopping(): boolean;
  writeStatus(state: PodState): void;
  logPath(namespace: string, pod: string, container: string): string;
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** newPodState is the state of a pod just bound to the Node, at ip, with no container started yet. */
export function newPodState(pod: V1Pod, uid: string, ip: string): PodState {
  const now = isoSeconds(new Date());
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime;
  return {
    uid,
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    ip,
    startTime: now,
    scheduledAt: scheduled ? isoSeconds(new Date(scheduled)) : now,
    pod,
    containers: new Map(
      (pod.spec?.containers ?? []).map((spec) => [
        spec.name,
        {
          spec,
          component: undefined,
          ready: false,
          startedAt: undefined,
          restartCount: 0,
          waiting: undefined,
          lastExit: undefined,
          probeFailures: 0,
          retryTimer: undefined,
        },
      ]),
    ),
    transitions: {},
    terminating: false,
    gone: false,
    lastStatus: '',
    writing: Promise.resolve(),
  };
}

/** endpointPodsOf lists a namespace's live pods as Service endpoints see them. */
export function endpointPodsOf(pods: Iterable<PodState>, namespace: string): EndpointPod[] {
  return [...pods]
    .filter((s) => s.namespace === namespace && !s.gone)
    .map((s) => ({
      ip: s.ip,
      labels: s.pod.metadata?.labels ?? {},
      ready: !s.terminating && [...s.containers.values()].every((c) => c.ready && c.component !== undefined),
      containerPorts: [...s.containers.values()].flatMap((c) => c.spec.ports ?? []),
    }));
}
