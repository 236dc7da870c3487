// Facts about why pods do not come up and whether the relay is reachable from
// outside, read from objects the reconciler observed (pods, Events, the
// workload, Ingress, HTTPRoutes, Certificate). Pure: observe.ts does the I/O,
// status.ts decides what the facts mean for the conditions.
import type { KubeObject } from '../object.js';

/** PodFailureKind names what keeps pods from running; each is also a condition reason. */
export type PodFailureKind = 'FailedCreate' | 'ImagePullFailed' | 'CrashLoopBackOff' | 'ContainerConfigError' | 'Unschedulable';

/** PodFailure is one reason pods do not come up, with the cluster's own message. */
export interface PodFailure {
  kind: PodFailureKind;
  /** What failed: "pod relay-0", "Deployment relay". */
  subject: string;
  message: string;
  /** permanent: no retry by the cluster can fix it (a bad image name). */
  permanent: boolean;
}

const WAITING: Readonly<Record<string, PodFailureKind>> = {
  ErrImagePull: 'ImagePullFailed',
  ImagePullBackOff: 'ImagePullFailed',
  InvalidImageName: 'ImagePullFailed',
  ErrImageNeverPull: 'ImagePullFailed',
  CrashLoopBackOff: 'CrashLoopBackOff',
  CreateContainerConfigError: 'ContainerConfigError',
  CreateContainerError: 'ContainerConfigError',
};

interface ContainerStatus {
  name?: string;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}
interface PodStatus {
  conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  containerStatuses?: ContainerStatus[];
  initContainerStatuses?: ContainerStatus[];
}

function containerFailure(pod: string, c: ContainerStatus): PodFailure | undefined {
  const reason = c.state?.waiting?.reason;
  const kind = reason === undefined ? undefined : WAITING[reason];
  if (kind === undefined) return undefined;
  const last = c.lastState?.terminated;
  const exited = last ? ` (last exit: ${last.reason ?? 'terminated'}, code ${String(last.exitCode ?? '?')})` : '';
  const detail = c.state?.waiting?.message;
  return {
    kind,
    subject: `pod ${pod}`,
    message: `container ${c.name ?? '?'}: ${reason}${detail ? `: ${detail}` : ''}${exited}`,
    permanent: reason === 'InvalidImageName',
  };
}

/** podFailures lists what keeps each pod from running: unschedulable, image pulls, crash loops, bad container config. */
export function podFailures(pods: readonly KubeObject[]): PodFailure[] {
  const out: PodFailure[] = [];
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const st = (pod.status ?? {}) as PodStatus;
    const scheduled = st.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      out.push({ kind: 'Unschedulable', subject: `pod ${pod.metadata.name}`, message: scheduled.message ?? 'no node fits the pod', permanent: false });
    }
    for (const c of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]) {
      const f = containerFailure(pod.metadata.name, c);
      if (f) out.push(f);
    }
  }
  return out;
}

/** replicaFailure reads a Deployment's ReplicaFailure condition (the controller copies it from its ReplicaSet). */
export function replicaFailure(workload: KubeObject | undefined): PodFailure | undefined {
  const conditions = (workload?.status as { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] } | undefined)
    ?.conditions;
  const c = conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  if (!workload || !c) return undefined;
  return { kind: 'FailedCreate', subject: `${workload.kind} ${workload.metadata.name}`, message: c.message ?? c.reason ?? 'pods cannot be created', permanent: false };
}

/** RECENT_EVENT_MS: a FailedCreate Event older than this no longer says anything about now. */
export const RECENT_EVENT_MS = 5 * 60_000;

const eventTime = (e: KubeObject): number => {
  const t = e as { lastTimestamp?: string; eventTime?: string; series?: { lastObservedTime?: string }; metadata: { creationTimestamp?: string } };
  const text = t.series?.lastObservedTime ?? t.lastTimestamp ?? t.eventTime ?? t.metadata.creationTimestamp;
  return text === undefined ? 0 : Date.parse(text);
};

/** failedCreateEvent: the newest recent FailedCreate Event about a StatefulSet that still lacks pods
 * (a StatefulSet has no ReplicaFailure condition; its controller only records Events). */
export function failedCreateEvent(workload: KubeObject | undefined, events: readonly KubeObject[], now: number): PodFailure | undefined {
  if (!workload) return undefined;
  const want = (workload.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const have = (workload.status as { replicas?: number } | undefined)?.replicas ?? 0;
  if (have >= want) return undefined;
  const recent = events
    .filter((e) => (e as { reason?: string }).reason === 'FailedCreate' && now - eventTime(e) <= RECENT_EVENT_MS)
    .sort((a, b) => eventTime(b) - eventTime(a))[0];
  if (!recent) return undefined;
  const message = (recent as { message?: string; note?: string }).message ?? (recent as { note?: string }).note ?? 'pods cannot be created';
  return { kind: 'FailedCreate', subject: `${workload.kind} ${workload.metadata.name}`, message, permanent: false };
}

/** Exposure is whether the relay's public entry points are live. */
export type Exposure =
  | { state: 'exposed'; message: string }
  | { state: 'pending'; message: string }
  | { state: 'rejected'; message: string };

type Cond = { type?: string; status?: string; reason?: string; message?: string };

function ingressExposure(ing: KubeObject): Exposure {
  const lb = (ing.status as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } } | undefined)?.loadBalancer?.ingress ?? [];
  const addresses = lb.map((a) => a.ip ?? a.hostname).filter((a): a is string => a !== undefined && a !== '');
  if (addresses.length > 0) return { state: 'exposed', message: `Ingress ${ing.metadata.name} has address ${addresses.join(', ')}` };
  const cls = (ing.spec as { ingressClassName?: string } | undefined)?.ingressClassName;
  return { state: 'pending', message: `Ingress ${ing.metadata.name} has no address yet (is an ingress controller serving class ${cls ?? '(default)'}?)` };
}

function routeExposure(route: KubeObject): Exposure {
  const wanted = ((route.spec as { parentRefs?: { name: string }[] } | undefined)?.parentRefs ?? []).map((p) => p.name);
  const parents = (route.status as { parents?: { parentRef?: { name?: string }; conditions?: Cond[] }[] } | undefined)?.parents ?? [];
  for (const name of wanted) {
    const p = parents.find((x) => x.parentRef?.name === name);
    if (!p) return { state: 'pending', message: `HTTPRoute ${route.metadata.name}: Gateway ${name} has not answered yet` };
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const c = p.conditions?.find((x) => x.type === type);
      if (c?.status === 'False') {
        return { state: 'rejected', message: `HTTPRoute ${route.metadata.name}: Gateway ${name}: ${type} False: ${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}` };
      }
      if (c?.status !== 'True') return { state: 'pending', message: `HTTPRoute ${route.metadata.name}: Gateway ${name} has not set ${type} yet` };
    }
  }
  return { state: 'exposed', message: `HTTPRoute ${route.metadata.name} accepted` };
}

function certificateExposure(cert: KubeObject): Exposure {
  const ready = (cert.status as { conditions?: Cond[] } | undefined)?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { state: 'exposed', message: `Certificate ${cert.metadata.name} ready` };
  const why = ready ? `: ${ready.reason ?? ''}${ready.message ? `: ${ready.message}` : ''}` : ' yet';
  return { state: 'pending', message: `Certificate ${cert.metadata.name} not ready${why}` };
}

/** exposureOf: exposed when every Ingress has an address, every HTTPRoute is Accepted with ResolvedRefs on each of its
 * Gateways and every Certificate is Ready; a refusal wins over waiting. undefined when nothing is exposed. */
export function exposureOf(children: readonly KubeObject[]): Exposure | undefined {
  const parts = children.flatMap((c): Exposure[] => {
    if (c.kind === 'Ingress') return [ingressExposure(c)];
    if (c.kind === 'HTTPRoute') return [routeExposure(c)];
    if (c.kind === 'Certificate') return [certificateExposure(c)];
    return [];
  });
  if (parts.length === 0) return undefined;
  return (
    parts.find((p) => p.state === 'rejected') ??
    parts.find((p) => p.state === 'pending') ?? { state: 'exposed', message: parts.map((p) => p.message).join('; ') }
  );
}
