// The local pod runner: plays the kubelet for one Node. It registers the
// Node, watches the pods the scheduler binds to it, runs each container as a
// real process on a loopback address of its own (containers.ts), reports
// status (status-writer.ts) and readiness from the container's real
// readiness probe (readiness.ts), and on deletion runs preStop, sends
// SIGTERM, SIGKILLs after the grace period and removes the pod (termination.ts).
import { CoreV1Api, ListWatch, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AddressPool } from './addresses.js';
import { launchContainer } from './containers.js';
import type { LaunchSettings } from './launch.js';
import { registerNode, type NodeHeartbeat } from './node.js';
import { endpointPodsOf, errorText, newPodState, type PodState, type RunnerContext } from './pod-state.js';
import { probePods } from './readiness.js';
import { ServiceProxies } from './service-proxy.js';
import { statusWriter } from './status-writer.js';
import { terminatePod } from './termination.js';

export type { Termination } from './termination.js';

/** PodRunnerOptions configures a runner; paths are absolute. */
export interface PodRunnerOptions {
  readonly kc: KubeConfig;
  /** nodeName is the Node the runner registers and serves (default local-runner). */
  readonly nodeName?: string;
  /** dir receives one log per container and terminations.jsonl. */
  readonly dir: string;
  /** recordIn is a control plane dir whose watchdog also kills the runner's process groups. */
  readonly recordIn?: string;
  readonly launch: Omit<LaunchSettings, 'workDir'>;
  /** probeIntervalMs is how often readiness probes run (default 500 ms, quicker than the pods' periodSeconds so tests wait less). */
  readonly probeIntervalMs?: number;
  /** pathEnv is PATH for containers; nothing else of the runner's environment reaches them. */
  readonly pathEnv: string;
  readonly log?: (message: string) => void;
}

/** PodRunner is a running runner. */
export interface PodRunner {
  readonly nodeName: string;
  readonly terminationsPath: string;
  /** logPath is where a container's output goes. */
  logPath(namespace: string, pod: string, container: string): string;
  stop(): Promise<void>;
}

/** startPodRunner registers the Node and starts serving its pods. */
export async function startPodRunner(o: PodRunnerOptions): Promise<PodRunner> {
  const nodeName = o.nodeName ?? 'local-runner';
  const log = o.log ?? (() => undefined);
  const core = o.kc.makeApiClient(CoreV1Api);
  const pool = new AddressPool();
  const pods = new Map<string, PodState>();
  mkdirSync(o.dir, { recursive: true });
  let stopping = false;

  const ctx: RunnerContext = {
    core,
    dir: o.dir,
    recordIn: o.recordIn,
    launch: o.launch,
    pathEnv: o.pathEnv,
    terminationsPath: join(o.dir, 'terminations.jsonl'),
    proxies: new ServiceProxies(pool, (namespace) => endpointPodsOf(pods.values(), namespace)),
    log,
    stopping: () => stopping,
    writeStatus: statusWriter(core, log),
    logPath: (namespace, pod, container) => join(o.dir, `${namespace}_${pod}_${container}.log`),
  };

  const forget = (state: PodState): void => forgetPod(o.dir, pods, pool, state);
  const podWatch = watchPods(o.kc, core, nodeName, {
    onPod: (pod) => {
      if (!stopping) onPod(ctx, pods, pool, pod);
    },
    onPodDeleted: (pod) => {
      const state = pods.get(pod.metadata?.uid ?? '');
      if (!state) return;
      // Gone from the API (our final delete, or a forced one): kill whatever still runs.
      for (const c of state.containers.values()) {
        clearTimeout(c.retryTimer);
        void c.component?.stop(0);
      }
      forget(state);
    },
    stopping: () => stopping,
    log,
  });

  const readiness = startReadinessLoop(pods, ctx.writeStatus, o.probeIntervalMs ?? 500, log);

  let heartbeat: NodeHeartbeat | undefined;
  try {
    heartbeat = await registerNode(o.kc, nodeName, log);
    await podWatch.start();
  } catch (error) {
    stopping = true;
    void readiness.stop();
    await podWatch.stop();
    await heartbeat?.stop();
    throw error;
  }

  return {
    nodeName,
    terminationsPath: ctx.terminationsPath,
    logPath: ctx.logPath,
    async stop() {
      stopping = true;
      const probing = readiness.stop();
      await podWatch.stop();
      await heartbeat?.stop();
      await probing;
      await stopAllPods(o.dir, pods, pool);
      await ctx.proxies.close();
    },
  };
}

/** forgetPod drops a pod that left the API: its address and work directory go too. */
function forgetPod(dir: string, pods: Map<string, PodState>, pool: AddressPool, state: PodState): void {
  state.gone = true;
  pods.delete(state.uid);
  pool.release(state.ip);
  rmSync(join(dir, 'work', state.uid), { recursive: true, force: true });
}

/** stopAllPods stops every container still running (2 s grace), then forgets every pod. */
async function stopAllPods(dir: string, pods: Map<string, PodState>, pool: AddressPool): Promise<void> {
  await Promise.all(
    [...pods.values()].flatMap((state) =>
      [...state.containers.values()].map(async (c) => {
        clearTimeout(c.retryTimer);
        await c.component?.stop(2_000);
      }),
    ),
  );
  for (const state of [...pods.values()]) forgetPod(dir, pods, pool, state);
}

/** startReadinessLoop probes every pod's containers each intervalMs, one round at a time; stop waits for the round in flight. */
function startReadinessLoop(
  pods: Map<string, PodState>,
  writeStatus: (state: PodState) => void,
  intervalMs: number,
  log: (message: string) => void,
): { stop(): Promise<void> } {
  let probing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    probing = probing.then(() => probePods(pods.values(), writeStatus)).catch((error: unknown) => log(`probes: ${errorText(error)}`));
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return probing;
    },
  };
}

/** onPod starts a newly bound pod, or terminates one the API marked for deletion. */
function onPod(ctx: RunnerContext, pods: Map<string, PodState>, pool: AddressPool, pod: V1Pod): void {
  const uid = pod.metadata?.uid;
  if (uid === undefined) return;
  const known = pods.get(uid);
  if (known) {
    known.pod = pod;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      void terminatePod(ctx, known).catch((error: unknown) => ctx.log(`terminate ${known.name}: ${errorText(error)}`));
    }
    return;
  }
  if (pod.metadata?.deletionTimestamp !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
    // Not ours to start: deleted before we saw it. Finish the deletion.
    void ctx.core
      .deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', gracePeriodSeconds: 0 })
      .catch((error: unknown) => ctx.log(`delete ${pod.metadata?.name ?? ''}: ${errorText(error)}`));
    return;
  }
  const state = newPodState(pod, uid, pool.allocate());
  pods.set(uid, state);
  ctx.log(`starting ${state.namespace}/${state.name} at ${state.ip}`);
  ctx.writeStatus(state);
  for (const c of state.containers.values()) launchContainer(ctx, state, c);
}

interface PodHandlers {
  onPod(pod: V1Pod): void;
  onPodDeleted(pod: V1Pod): void;
  stopping(): boolean;
  log(message: string): void;
}

/** watchPods is an informer over the pods bound to nodeName, restarted on error (client-node stops it on any non-410 error). */
function watchPods(kc: KubeConfig, core: CoreV1Api, nodeName: string, h: PodHandlers): ListWatch<V1Pod> {
  const informer = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(kc),
    () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }),
    false,
    undefined,
    `spec.nodeName=${nodeName}`,
  );
  informer.on('add', h.onPod);
  informer.on('update', h.onPod);
  informer.on('delete', h.onPodDeleted);
  informer.on('error', (error: unknown) => {
    if (h.stopping()) return;
    h.log(`pod informer: ${errorText(error)}; restarting`);
    setTimeout(() => {
      if (!h.stopping()) void informer.start().catch((e: unknown) => h.log(`pod informer restart: ${errorText(e)}`));
    }, 1_000);
  });
  return informer;
}
