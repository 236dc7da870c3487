// Status from observation: pure. The reconciler hands in what it saw and what
// went wrong; this decides conditions, keeping lastTransitionTime when a
// condition's status did not change.
import type { Condition, ConditionType, Reason } from '../api/v1alpha1/conditions.js';
import type { ViewportRelayStatus } from '../api/v1alpha1/status.js';
import type { KubeObject } from '../object.js';

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

function condition(type: ConditionType, c: CondSpec, input: StatusInput): Condition {
  const prev = input.previous?.conditions?.find((p) => p.type === type);
  return {
    type,
    status: c.status,
    observedGeneration: input.generation,
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : input.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: c.reason,
    message: c.message,
  };
}

function decide(input: StatusInput): { ready: CondSpec; reconciling: CondSpec; stalled: CondSpec } {
  const ok = (reason: Reason, message: string): CondSpec => ({ status: 'False', reason, message });
  if (input.paused) {
    const prevReady = input.previous?.conditions?.find((c) => c.type === 'Ready');
    const msg = 'reconciliation paused by the relay.getviewport.com/paused annotation';
    return {
      ready: prevReady ? { status: prevReady.status, reason: prevReady.reason as Reason, message: prevReady.message } : { status: 'Unknown', reason: 'Paused', message: msg },
      reconciling: ok('Paused', msg),
      stalled: ok('Paused', msg),
    };
  }
  const p = input.problem;
  if (p?.stalled) {
    return { ready: ok(p.reason, p.message), reconciling: ok(p.reason, p.message), stalled: { status: 'True', reason: p.reason, message: p.message } };
  }
  if (p) {
    return { ready: ok(p.reason, p.message), reconciling: { status: 'True', reason: p.reason, message: p.message }, stalled: ok('Reconciled', '') };
  }
  const w = input.workload ? workloadState(input.workload) : undefined;
  if (w?.stalled) {
    const msg = 'relay rollout exceeded its progress deadline; check pod events';
    return { ready: ok('RolloutStalled', msg), reconciling: ok('RolloutStalled', msg), stalled: { status: 'True', reason: 'RolloutStalled', message: msg } };
  }
  if (input.managedRedis && !redisReady(input.redis)) {
    const msg = 'managed Redis is not ready';
    return { ready: ok('BackplaneNotReady', msg), reconciling: { status: 'True', reason: 'BackplaneNotReady', message: msg }, stalled: ok('Reconciled', '') };
  }
  if (!w || !w.current) {
    const msg = w ? `${w.readyReplicas}/${w.desired} replicas ready` : 'waiting for the relay workload';
    return { ready: ok('Progressing', msg), reconciling: { status: 'True', reason: 'Progressing', message: msg }, stalled: ok('Reconciled', '') };
  }
  return {
    ready: { status: 'True', reason: 'Ready', message: `${w.readyReplicas}/${w.desired} replicas ready` },
    reconciling: ok('Reconciled', ''),
    stalled: ok('Reconciled', ''),
  };
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
  if (status.observedGeneration === undefined) delete status.observedGeneration;
  return status;
}

/** conditionOf finds one condition in a status. */
export function conditionOf(status: ViewportRelayStatus | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}
