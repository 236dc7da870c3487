// Containers as the kubelet runs them: resolve the env (Secrets, ConfigMaps),
// make sure the Services it names have a local proxy, start the process on
// the pod's address, and restart it with back-off when it exits.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startComponent, type Component } from '../controlplane/process.js';
import { resolveContainerEnv } from './env.js';
import { ingressServicesReferenced, launchPlan, servicesReferenced, type ServiceRef } from './launch.js';
import { errorText, type ContainerState, type PodState, type RunnerContext } from './pod-state.js';
import { isoSeconds } from './pod-status.js';

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const value = data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** launchContainer starts a container in the background; a failure is logged and retried like a crash. */
export function launchContainer(ctx: RunnerContext, state: PodState, c: ContainerState): void {
  startContainer(ctx, state, c).catch((error: unknown) => {
    ctx.log(`start ${state.namespace}/${state.name}/${c.spec.name}: ${errorText(error)}`);
    c.waiting = { reason: 'RunContainerError', message: errorText(error) };
    ctx.writeStatus(state);
    scheduleStart(ctx, state, c, 2_000);
  });
}

function scheduleStart(ctx: RunnerContext, state: PodState, c: ContainerState, delayMs: number): void {
  clearTimeout(c.retryTimer);
  c.retryTimer = setTimeout(() => {
    c.retryTimer = undefined;
    launchContainer(ctx, state, c);
  }, delayMs);
}

/** waitAndRetry reports why a container cannot start yet and tries again later. */
function waitAndRetry(ctx: RunnerContext, state: PodState, c: ContainerState, waiting: ContainerState['waiting'], delayMs: number): void {
  c.waiting = waiting;
  ctx.writeStatus(state);
  scheduleStart(ctx, state, c, delayMs);
}

const cannotStart = (ctx: RunnerContext, state: PodState, c: ContainerState): boolean =>
  state.terminating || state.gone || ctx.stopping() || c.component !== undefined;

async function startContainer(ctx: RunnerContext, state: PodState, c: ContainerState): Promise<void> {
  if (cannotStart(ctx, state, c)) return;
  const pod = state.pod;
  const resolved = resolveContainerEnv(pod, c.spec, state.ip, await envLookups(ctx, pod, c.spec));
  if (!resolved.ok) return waitAndRetry(ctx, state, c, { reason: 'CreateContainerConfigError', message: resolved.error }, 1_000);
  const texts = [...Object.values(resolved.env), ...(c.spec.args ?? [])];
  const missing = await ensureServices(ctx, [
    ...servicesReferenced(texts),
    ...ingressServicesReferenced(texts, state.namespace, ctx.launch.ingressDomain),
  ]);
  if (missing !== undefined) return waitAndRetry(ctx, state, c, { reason: 'ContainerCreating', message: missing }, 1_000);
  const workDir = join(ctx.dir, 'work', state.uid, c.spec.name);
  mkdirSync(workDir, { recursive: true });
  const planned = launchPlan(pod, c.spec, resolved.env, state.ip, { ...ctx.launch, workDir }, (ref) => ctx.proxies.addressOf(ref));
  if (!planned.ok) {
    c.waiting = { reason: 'ErrImagePull', message: planned.error };
    ctx.writeStatus(state);
    return;
  }
  if (cannotStart(ctx, state, c)) return;
  const { plan } = planned;
  const component = startComponent({
    name: `${state.namespace}/${state.name}/${c.spec.name}`,
    command: plan.command,
    args: plan.args,
    logPath: ctx.logPath(state.namespace, state.name, c.spec.name),
    recordIn: ctx.recordIn,
    // Only the pod's env: nothing of the test process leaks into a container.
    env: { PATH: ctx.pathEnv, HOME: workDir, ...plan.env },
  });
  c.component = component;
  c.startedAt = isoSeconds(new Date());
  c.waiting = undefined;
  c.ready = c.spec.readinessProbe === undefined;
  c.probeFailures = 0;
  ctx.writeStatus(state);
  void component.exited.then((exit) => restartAfterExit(ctx, state, c, component, exit));
}

/** restartAfterExit applies restartPolicy Always: back off like the kubelet (capped low to keep tests quick). */
function restartAfterExit(ctx: RunnerContext, state: PodState, c: ContainerState, component: Component, exit: number | string): void {
  if (c.component !== component) return;
  c.component = undefined;
  c.ready = false;
  if (state.terminating || state.gone || ctx.stopping()) return;
  c.lastExit = {
    exitCode: typeof exit === 'number' ? exit : 137,
    reason: typeof exit === 'number' && exit === 0 ? 'Completed' : 'Error',
    finishedAt: isoSeconds(new Date()),
  };
  c.restartCount += 1;
  c.waiting = { reason: 'CrashLoopBackOff', message: `exited with ${String(exit)}` };
  ctx.log(`${component.name} exited with ${String(exit)}; restarting`);
  ctx.writeStatus(state);
  scheduleStart(ctx, state, c, Math.min(10_000, 500 * 2 ** Math.min(c.restartCount, 5)));
}

/** envLookups reads the Secrets and ConfigMaps a container's env names (a missing one reads as undefined). */
async function envLookups(ctx: RunnerContext, pod: V1Pod, container: V1Container) {
  const namespace = pod.metadata?.namespace ?? 'default';
  const secrets = new Map<string, Record<string, string> | undefined>();
  const configMaps = new Map<string, Record<string, string> | undefined>();
  for (const e of container.env ?? []) {
    const s = e.valueFrom?.secretKeyRef?.name;
    if (s !== undefined && !secrets.has(s)) {
      secrets.set(s, await ctx.core.readNamespacedSecret({ name: s, namespace }).then((x) => x.data ?? {}, () => undefined));
    }
    const c = e.valueFrom?.configMapKeyRef?.name;
    if (c !== undefined && !configMaps.has(c)) {
      configMaps.set(c, await ctx.core.readNamespacedConfigMap({ name: c, namespace }).then((x) => x.data ?? {}, () => undefined));
    }
  }
  return {
    secretValue: (name: string, key: string) => decode(secrets.get(name), key),
    configMapValue: (name: string, key: string) => configMaps.get(name)?.[key],
  };
}

/** ensureServices gives every referenced Service a local proxy; the first one that cannot be read, if any. */
async function ensureServices(ctx: RunnerContext, refs: readonly ServiceRef[]): Promise<string | undefined> {
  for (const ref of refs) {
    if (ctx.proxies.addressOf(ref)) continue;
    try {
      await ctx.proxies.ensure(await ctx.core.readNamespacedService(ref));
    } catch (error) {
      return `service ${ref.namespace}/${ref.name}: ${errorText(error)}`;
    }
  }
  return undefined;
}
