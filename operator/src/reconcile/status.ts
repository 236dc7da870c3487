// Status from observation: pure. The reconciler hands in what it saw and what
// went wrong; this decides conditions, keeping lastTransitionTime when a
// condition's status did not change.
import type { Condition, ConditionType, Reason } from '../api/v1alpha1/conditions.js';
import type { ViewportRelayStatus } from '../api/v1alpha1/status.js';
import type { KubeObject } from '../object.js';
import type { Exposure, PodFailure } from './facts.js';

/** Problem is what stopped a pass; stalled = needs a user change, else transient. */
export interface Problem {
  reason: Reason;
  message: string;
  stalled: boolean;
}

/** StatusInput is what the reconciler observed in one pass. */
export interface StatusInput {
  generation: number;
  previous: ViewportRelayStatus | undefined;
  paused: boolean;
  problem: Problem | undefined;
  backplaneMode: 'single' | 'redis' | 'server';
  endpoint: string | undefined;
  selector: string | undefined;
  /** Relay workload as last returned by the API (after apply). */
  workload: KubeObject | undefined;
  /** Managed Redis Deployment, when the relay has one. */
  redis: KubeObject | undefined;
  managedRedis: boolean;
  /** Why pods do not come up (pods, ReplicaFailure, FailedCreate Events), gathered while the relay is not ready. */
  podFailures?: readonly PodFailure[];
  /** Whether spec.exposure publishes the relay (Ingress or HTTPRoute), and what its children say. */
  exposureConfigured?: boolean;
  exposure?: Exposure | undefined;
  now: Date;
}

interface WorkloadState {
  replicas: number;
  readyReplicas: number;
  desired: number;
  current: boolean;
  stalled: boolean;
}

type Num = number | undefined;

/** workloadState reads a Deployment's or StatefulSet's rollout state. */
export function workloadState(w: KubeObject): WorkloadState {
  const spec = (w.spec ?? {}) as { replicas?: Num };
  const st = (w.status ?? {}) as {
    replicas?: Num;
    readyReplicas?: Num;
    updatedReplicas?: Num;
    observedGeneration?: Num;
    conditions?: { type: string; status: string; reason?: string }[];
  };
  const desired = spec.replicas ?? 1;
  const current =
    (st.observedGeneration ?? 0) >= (w.metadata.generation ?? 0) &&
    (st.updatedReplicas ?? 0) >= desired &&
    (st.readyReplicas ?? 0) >= desired &&
    (st.replicas ?? 0) <= desired;
  const stalled = (st.conditions ?? []).some(
    (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
  );
  return { replicas: st.replicas ?? 0, readyReplicas: st.readyReplicas ?? 0, desired, current, stalled };
}

function redisReady(redis: KubeObject | undefined): boolean {
  return ((redis?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) >= 1;
}

type CondSpec = { status: 'True' | 'False' | 'Unknown'; reason: Reason; message: string };

/** FAILING_PODS_DEADLINE_MS: pods failing for this long after the relay started reconciling stall it, as a
 * Deployment's progressDeadlineSeconds (600) would; a StatefulSet has no deadline of its own. */
export const FAILING_PODS_DEADLINE_MS = 600_000;

const PAUSED_MESSAGE = 'reconciliation paused by the relay.getviewport.com/paused annotation';

function condition(type: ConditionType, c: CondSpec, input: StatusInput): Condition {
  const prev = input.previous?.conditions?.find((p) => p.type === type);
  // A paused relay has not acted on its current spec: every condition keeps the
  // generation last reconciled, so `kubectl wait --for=condition=Ready` cannot
  // report a generation the operator never saw.
  const observedGeneration = input.paused ? (prev?.observedGeneration ?? input.previous?.observedGeneration) : input.generation;
  return {
    type,
    status: c.status,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : input.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: c.reason,
    message: c.message,
  };
}

interface Decision {
  ready: CondSpec;
  reconciling: CondSpec;
  stalled: CondSpec;
}

const no = (reason: Reason, message: string): CondSpec => ({ status: 'False', reason, message });
const stall = (reason: Reason, message: string): Decision => ({ ready: no(reason, message), reconciling: no(reason, message), stalled: { status: 'True', reason, message } });
const wait = (reason: Reason, message: string): Decision => ({ ready: no(reason, message), reconciling: { status: 'True', reason, message }, stalled: no('Reconciled', '') });

function pausedDecision(input: StatusInput): Decision {
  const prevReady = input.previous?.conditions?.find((c) => c.type === 'Ready');
  const last = prevReady && prevReady.reason !== 'Paused' ? `; last reconciled state: ${prevReady.reason}${prevReady.message ? `: ${prevReady.message}` : ''}` : '';
  return {
    ready: prevReady
      ? { status: prevReady.status, reason: 'Paused', message: prevReady.reason === 'Paused' ? prevReady.message : `${PAUSED_MESSAGE}${last}` }
      : { status: 'Unknown', reason: 'Paused', message: PAUSED_MESSAGE },
    reconciling: no('Paused', PAUSED_MESSAGE),
    stalled: no('Paused', PAUSED_MESSAGE),
  };
}

const describeFailures = (fs: readonly PodFailure[]): string =>
  fs.slice(0, 3).map((f) => `${f.subject}: ${f.message}`).join('; ') + (fs.length > 3 ? ` (and ${fs.length - 3} more)` : '');

/** failingTooLong: the relay has been Reconciling for longer than the deadline and pods still fail. */
function failingTooLong(input: StatusInput): boolean {
  const prev = input.previous?.conditions?.find((c) => c.type === 'Reconciling');
  if (prev?.status !== 'True') return false;
  const since = Date.parse(prev.lastTransitionTime);
  return Number.isFinite(since) && input.now.getTime() - since >= FAILING_PODS_DEADLINE_MS;
}

/** podDecision: what failing pods mean. Pod creation refused or a bad image name needs a user change (Stalled);
 * image pulls, crash loops and scheduling may resolve on their own until the deadline. */
function podDecision(input: StatusInput, w: WorkloadState | undefined): Decision | undefined {
  const failures = input.podFailures ?? [];
  if (w?.stalled) {
    const why = failures.length > 0 ? `: ${describeFailures(failures)}` : '; check pod events';
    return stall('RolloutStalled', `relay rollout exceeded its progress deadline${why}`);
  }
  const first = failures.find((f) => f.kind === 'FailedCreate' || f.permanent) ?? failures[0];
  if (!first) return undefined;
  const same = failures.filter((f) => f.kind === first.kind);
  if (first.kind === 'FailedCreate' || first.permanent) return stall(first.kind, describeFailures(same));
  if (failingTooLong(input)) return stall('RolloutStalled', `pods kept failing past the ${FAILING_PODS_DEADLINE_MS / 1000} s deadline: ${describeFailures(same)}`);
  return wait(first.kind, describeFailures(same));
}

function exposureDecision(input: StatusInput): { exposed: CondSpec; blocks: Decision | undefined } | undefined {
  if (!input.exposureConfigured) return undefined;
  const e = input.exposure ?? { state: 'pending', message: 'waiting for the Ingress or HTTPRoute to be created' };
  if (e.state === 'exposed') return { exposed: { status: 'True', reason: 'Exposed', message: e.message }, blocks: undefined };
  if (e.state === 'rejected') return { exposed: no('ExposureRejected', e.message), blocks: stall('ExposureRejected', e.message) };
  return { exposed: no('ExposurePending', e.message), blocks: wait('ExposurePending', e.message) };
}

function decide(input: StatusInput): Decision {
  if (input.paused) return pausedDecision(input);
  const p = input.problem;
  if (p?.stalled) return stall(p.reason, p.message);
  if (p) return wait(p.reason, p.message);
  const w = input.workload ? workloadState(input.workload) : undefined;
  const pods = podDecision(input, w);
  if (pods?.stalled.status === 'True') return pods;
  if (input.managedRedis && !redisReady(input.redis)) return pods ?? wait('BackplaneNotReady', 'managed Redis is not ready');
  if (!w || !w.current) return pods ?? wait('Progressing', w ? `${w.readyReplicas}/${w.desired} replicas ready` : 'waiting for the relay workload');
  const exposure = exposureDecision(input);
  if (exposure?.blocks) return exposure.blocks;
  return {
    ready: { status: 'True', reason: 'Ready', message: `${w.readyReplicas}/${w.desired} replicas ready` },
    reconciling: no('Reconciled', ''),
    stalled: no('Reconciled', ''),
  };
}

/** exposedCondition: the Exposed condition when exposure is configured (kept as it was while paused). */
function exposedCondition(input: StatusInput): CondSpec | undefined {
  if (input.paused) {
    const prev = input.previous?.conditions?.find((c) => c.type === 'Exposed');
    return prev ? { status: prev.status, reason: prev.reason as Reason, message: prev.message } : undefined;
  }
  return exposureDecision(input)?.exposed;
}

/** computeStatus is the status the relay should have after a pass. */
export function computeStatus(input: StatusInput): ViewportRelayStatus {
  const d = decide(input);
  const w = input.workload ? workloadState(input.workload) : undefined;
  const backplaneReady = !input.managedRedis || redisReady(input.redis);
  const status: ViewportRelayStatus = {
    // A paused relay has not acted on its current spec; say so honestly.
    observedGeneration: input.paused ? input.previous?.observedGeneration : input.generation,
    replicas: w?.replicas ?? input.previous?.replicas ?? 0,
    readyReplicas: w?.readyReplicas ?? input.previous?.readyReplicas ?? 0,
    ...(input.selector !== undefined ? { selector: input.selector } : {}),
    ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
    backplane: {
      mode: input.backplaneMode,
      ready: backplaneReady,
      ...(backplaneReady ? {} : { message: 'managed Redis is not ready' }),
    },
    paused: input.paused,
    conditions: [condition('Ready', d.ready, input), condition('Reconciling', d.reconciling, input), condition('Stalled', d.stalled, input)],
  };
  const exposed = exposedCondition(input);
  if (exposed) status.conditions?.push(condition('Exposed', exposed, input));
  if (status.observedGeneration === undefined) delete status.observedGeneration;
  return status;
}

/** conditionOf finds one condition in a status. */
export function conditionOf(status: ViewportRelayStatus | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}
