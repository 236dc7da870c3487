// The local pod runner: plays the kubelet for one Node. It registers the
// Node, watches the pods the scheduler binds to it, runs each container as a
// real process on a loopback address of its own, reports status and
// readiness from the container's real readiness probe, and on deletion runs
// preStop, sends SIGTERM, SIGKILLs after the grace period and removes the pod.
import {
  CoreV1Api,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startComponent, type Component } from '../controlplane/process.js';
import { AddressPool } from './addresses.js';
import { resolveContainerEnv } from './env.js';
import { ingressServicesReferenced, launchPlan, servicesReferenced, type LaunchSettings, type ServiceRef } from './launch.js';
import { registerNode, type NodeHeartbeat } from './node.js';
import { isoSeconds, podStatus, type ContainerView } from './pod-status.js';
import { runProbeCheck } from './readiness.js';
import { ServiceProxies, type EndpointPod } from './service-proxy.js';

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

/** PodRunner is a running runner. */
export interface PodRunner {
  readonly nodeName: string;
  readonly terminationsPath: string;
  /** logPath is where a container's output goes. */
  logPath(namespace: string, pod: string, container: string): string;
  stop(): Promise<void>;
}

interface ContainerState {
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

interface PodState {
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

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function preStopSeconds(container: V1Container): number {
  return container.lifecycle?.preStop?.sleep?.seconds ?? 0;
}

/** startPodRunner registers the Node and starts serving its pods. */
export async function startPodRunner(o: PodRunnerOptions): Promise<PodRunner> {
  const nodeName = o.nodeName ?? 'local-runner';
  const log = o.log ?? (() => undefined);
  const core = o.kc.makeApiClient(CoreV1Api);
  const pool = new AddressPool();
  const pods = new Map<string, PodState>();
  const terminationsPath = join(o.dir, 'terminations.jsonl');
  mkdirSync(o.dir, { recursive: true });
  let stopping = false;

  const endpointPods = (namespace: string): EndpointPod[] =>
    [...pods.values()]
      .filter((s) => s.namespace === namespace && !s.gone)
      .map((s) => ({
        ip: s.ip,
        labels: s.pod.metadata?.labels ?? {},
        ready: !s.terminating && [...s.containers.values()].every((c) => c.ready && c.component !== undefined),
        containerPorts: [...s.containers.values()].flatMap((c) => c.spec.ports ?? []),
      }));
  const proxies = new ServiceProxies(pool, endpointPods);
  const podWatch = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(o.kc),
    () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }),
    false,
    undefined,
    `spec.nodeName=${nodeName}`,
  );

  const logPath = (namespace: string, pod: string, container: string) => join(o.dir, `${namespace}_${pod}_${container}.log`);

  // ---- status ----
  const writeStatus = (state: PodState): void => {
    if (state.gone) return;
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
    const status = podStatus(
      { podIP: state.ip, startTime: state.startTime, scheduledAt: state.scheduledAt, containers: views },
      state.transitions,
    );
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

  // ---- containers ----
  const envLookups = async (pod: V1Pod, container: V1Container) => {
    const namespace = pod.metadata?.namespace ?? 'default';
    const secrets = new Map<string, Record<string, string> | undefined>();
    const configMaps = new Map<string, Record<string, string> | undefined>();
    for (const e of container.env ?? []) {
      const s = e.valueFrom?.secretKeyRef?.name;
      if (s !== undefined && !secrets.has(s)) {
        secrets.set(s, await core.readNamespacedSecret({ name: s, namespace }).then((x) => x.data ?? {}, () => undefined));
      }
      const c = e.valueFrom?.configMapKeyRef?.name;
      if (c !== undefined && !configMaps.has(c)) {
        configMaps.set(c, await core.readNamespacedConfigMap({ name: c, namespace }).then((x) => x.data ?? {}, () => undefined));
      }
    }
    return {
      secretValue: (name: string, key: string) => decode(secrets.get(name), key),
      configMapValue: (name: string, key: string) => configMaps.get(name)?.[key],
    };
  };

  const ensureServices = async (refs: readonly ServiceRef[]): Promise<string | undefined> => {
    for (const ref of refs) {
      if (proxies.addressOf(ref)) continue;
      try {
        await proxies.ensure(await core.readNamespacedService(ref));
      } catch (error) {
        return `service ${ref.namespace}/${ref.name}: ${errorText(error)}`;
      }
    }
    return undefined;
  };

  const scheduleStart = (state: PodState, c: ContainerState, delayMs: number): void => {
    clearTimeout(c.retryTimer);
    c.retryTimer = setTimeout(() => {
      c.retryTimer = undefined;
      launch(state, c);
    }, delayMs);
  };

  // launch starts a container in the background; a failure is logged and retried like a crash.
  const launch = (state: PodState, c: ContainerState): void => {
    startContainer(state, c).catch((error: unknown) => {
      log(`start ${state.namespace}/${state.name}/${c.spec.name}: ${errorText(error)}`);
      c.waiting = { reason: 'RunContainerError', message: errorText(error) };
      writeStatus(state);
      scheduleStart(state, c, 2_000);
    });
  };

  const startContainer = async (state: PodState, c: ContainerState): Promise<void> => {
    if (state.terminating || state.gone || stopping || c.component) return;
    const pod = state.pod;
    const resolved = resolveContainerEnv(pod, c.spec, state.ip, await envLookups(pod, c.spec));
    if (!resolved.ok) {
      c.waiting = { reason: 'CreateContainerConfigError', message: resolved.error };
      writeStatus(state);
      scheduleStart(state, c, 1_000);
      return;
    }
    const texts = [...Object.values(resolved.env), ...(c.spec.args ?? [])];
    const missing = await ensureServices([
      ...servicesReferenced(texts),
      ...ingressServicesReferenced(texts, state.namespace, o.launch.ingressDomain),
    ]);
    if (missing !== undefined) {
      c.waiting = { reason: 'ContainerCreating', message: missing };
      writeStatus(state);
      scheduleStart(state, c, 1_000);
      return;
    }
    const workDir = join(o.dir, 'work', state.uid, c.spec.name);
    mkdirSync(workDir, { recursive: true });
    const planned = launchPlan(pod, c.spec, resolved.env, state.ip, { ...o.launch, workDir }, (ref) => proxies.addressOf(ref));
    if (!planned.ok) {
      c.waiting = { reason: 'ErrImagePull', message: planned.error };
      writeStatus(state);
      return;
    }
    if (state.terminating || state.gone || stopping || c.component) return;
    const { plan } = planned;
    const component = startComponent({
      name: `${state.namespace}/${state.name}/${c.spec.name}`,
      command: plan.command,
      args: plan.args,
      logPath: logPath(state.namespace, state.name, c.spec.name),
      recordIn: o.recordIn,
      // Only the pod's env: nothing of the test process leaks into a container.
      env: { PATH: o.pathEnv, HOME: workDir, ...plan.env },
    });
    c.component = component;
    c.startedAt = isoSeconds(new Date());
    c.waiting = undefined;
    c.ready = c.spec.readinessProbe === undefined;
    c.probeFailures = 0;
    writeStatus(state);
    void component.exited.then((exit) => {
      if (c.component !== component) return;
      c.component = undefined;
      c.ready = false;
      if (state.terminating || state.gone || stopping) return;
      // restartPolicy Always: back off like the kubelet (capped low to keep tests quick).
      c.lastExit = {
        exitCode: typeof exit === 'number' ? exit : 137,
        reason: typeof exit === 'number' && exit === 0 ? 'Completed' : 'Error',
        finishedAt: isoSeconds(new Date()),
      };
      c.restartCount += 1;
      c.waiting = { reason: 'CrashLoopBackOff', message: `exited with ${String(exit)}` };
      log(`${component.name} exited with ${String(exit)}; restarting`);
      writeStatus(state);
      scheduleStart(state, c, Math.min(10_000, 500 * 2 ** Math.min(c.restartCount, 5)));
    });
  };

  // ---- termination ----
  const terminate = async (state: PodState): Promise<void> => {
    if (state.terminating) return;
    state.terminating = true;
    writeStatus(state);
    const pod = state.pod;
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + grace * 1000;
    log(`terminating ${state.namespace}/${state.name} (grace ${String(grace)} s)`);
    await Promise.all(
      [...state.containers.values()].map(async (c) => {
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
        appendFileSync(terminationsPath, `${JSON.stringify(record)}\n`);
        log(`${component.name} ended: ${String(exit)}${record.killed ? ' (killed after the grace period)' : ''}`);
        c.component = undefined;
      }),
    );
    if (stopping) return;
    try {
      await core.deleteNamespacedPod({
        name: state.name,
        namespace: state.namespace,
        // With a body, the API server reads DeleteOptions from it alone, not from the query.
        body: { gracePeriodSeconds: 0, preconditions: { uid: state.uid } },
      });
      log(`removed ${state.namespace}/${state.name}`);
    } catch (error) {
      log(`final delete of ${state.namespace}/${state.name}: ${errorText(error)}`);
    }
  };

  const forget = (state: PodState): void => {
    state.gone = true;
    pods.delete(state.uid);
    pool.release(state.ip);
    rmSync(join(o.dir, 'work', state.uid), { recursive: true, force: true });
  };

  // ---- pod events ----
  const onPod = (pod: V1Pod): void => {
    const uid = pod.metadata?.uid;
    if (uid === undefined || stopping) return;
    let state = pods.get(uid);
    if (!state) {
      if (pod.metadata?.deletionTimestamp !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
        // Not ours to start: deleted before we saw it. Finish the deletion.
        void core
          .deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', gracePeriodSeconds: 0 })
          .catch((error: unknown) => log(`delete ${pod.metadata?.name ?? ''}: ${errorText(error)}`));
        return;
      }
      const now = isoSeconds(new Date());
      const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime;
      state = {
        uid,
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        ip: pool.allocate(),
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
      pods.set(uid, state);
      log(`starting ${state.namespace}/${state.name} at ${state.ip}`);
      writeStatus(state);
      for (const c of state.containers.values()) launch(state, c);
      return;
    }
    state.pod = pod;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      const s = state;
      void terminate(s).catch((error: unknown) => log(`terminate ${s.name}: ${errorText(error)}`));
    }
  };

  const onPodDeleted = (pod: V1Pod): void => {
    const state = pods.get(pod.metadata?.uid ?? '');
    if (!state) return;
    // Gone from the API (our final delete, or a forced one): kill whatever still runs.
    for (const c of state.containers.values()) {
      clearTimeout(c.retryTimer);
      void c.component?.stop(0);
    }
    forget(state);
  };

  // ---- readiness ----
  const probeTick = async (): Promise<void> => {
    await Promise.all(
      [...pods.values()].flatMap((state) =>
        [...state.containers.values()].map(async (c) => {
          const probe = c.spec.readinessProbe;
          if (!probe || !c.component || state.terminating) return;
          const passed = await runProbeCheck(probe, c.spec, state.ip);
          if (passed) {
            c.probeFailures = 0;
            c.ready = c.component !== undefined;
          } else if (++c.probeFailures >= (probe.failureThreshold ?? 3) || !c.ready) {
            c.ready = false;
          }
          writeStatus(state);
        }),
      ),
    );
  };
  let probing: Promise<void> = Promise.resolve();
  const probeTimer = setInterval(() => {
    probing = probing.then(probeTick).catch((error: unknown) => log(`probes: ${errorText(error)}`));
  }, o.probeIntervalMs ?? 500);

  // ---- informers, restarted on error (client-node stops them on any non-410 error) ----
  const keepRunning = (name: string, informer: ListWatch<V1Pod>): void => {
    informer.on('error', (error: unknown) => {
      if (stopping) return;
      log(`${name} informer: ${errorText(error)}; restarting`);
      setTimeout(() => {
        if (!stopping) void informer.start().catch((e: unknown) => log(`${name} informer restart: ${errorText(e)}`));
      }, 1_000);
    });
  };
  podWatch.on('add', onPod);
  podWatch.on('update', onPod);
  podWatch.on('delete', onPodDeleted);
  keepRunning('pod', podWatch);

  let heartbeat: NodeHeartbeat | undefined;
  try {
    heartbeat = await registerNode(o.kc, nodeName, log);
    await podWatch.start();
  } catch (error) {
    stopping = true;
    clearInterval(probeTimer);
    await podWatch.stop();
    await heartbeat?.stop();
    throw error;
  }

  return {
    nodeName,
    terminationsPath,
    logPath,
    async stop() {
      stopping = true;
      clearInterval(probeTimer);
      await podWatch.stop();
        await heartbeat?.stop();
      await probing;
      await Promise.all(
        [...pods.values()].flatMap((state) =>
          [...state.containers.values()].map(async (c) => {
            clearTimeout(c.retryTimer);
            await c.component?.stop(2_000);
          }),
        ),
      );
      for (const state of [...pods.values()]) forget(state);
      await proxies.close();
    },
  };
}
