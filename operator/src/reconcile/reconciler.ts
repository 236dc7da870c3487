// The reconcile pass for one ViewportRelay, reading like a table of contents:
// read the CR → observe children → build desired → apply what differs → write
// status once, only on change. Never writes the CR's spec or metadata.
import { PAUSED_ANNOTATION, RELAY_API_VERSION, RELAY_KIND } from '../api/v1alpha1/group.js';
import { formatProblems, parseRelay } from '../api/v1alpha1/relay.js';
import { ViewportRelayStatus } from '../api/v1alpha1/status.js';
import type { Clock } from '../clock.js';
import { stableJson } from '../desired/hash.js';
import { usedSecretRefs } from '../desired/index.js';
import { selectorLabels, selectorString } from '../desired/labels.js';
import { relayModel, type BuilderConfig, type RelayModel } from '../desired/model.js';
import type { RandomSecret } from '../desired/secret.js';
import { desiredState } from '../desired/state.js';
import { isNotFound, isPermanent, type KubeAdapter, type KubeError } from '../kube/adapter.js';
import type { Logger } from '../log.js';
import { refKey, type KubeObject, type ObjectRef } from '../object.js';
import { executePlan, planChildren, type AppliedRecord, type ApplyOutcome } from './apply.js';
import type { EventRecorder, RelayRef } from './events.js';
import { observeRelay } from './observe.js';
import { computeStatus, conditionOf, type Problem } from './status.js';

/**
 * ReconcileResult tells the queue what to do with the key next; stalled is the
 * Stalled condition the pass wrote (undefined when it wrote no status).
 */
export type ReconcileResult =
  | { result: 'done'; reason: string; stalled?: boolean }
  | { result: 'retry'; reason: string; message: string; stalled?: boolean };

/** ReconcilerDeps are injected so tests and the e2e tier can drive a pass. */
export interface ReconcilerDeps {
  kube: KubeAdapter;
  builder: BuilderConfig;
  clock: Clock;
  random: RandomSecret;
  events: EventRecorder;
  log: Logger;
}

/** relayKey is the queue key of a relay: "namespace/name". */
export const relayKey = (namespace: string, name: string): string => `${namespace}/${name}`;

function relayRefOf(key: string): ObjectRef {
  const slash = key.indexOf('/');
  return { apiVersion: RELAY_API_VERSION, kind: RELAY_KIND, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function describeError(ref: ObjectRef, e: KubeError): string {
  // A 404 on a write means the kind itself is not served: an add-on CRD is missing.
  if (e.status === 404) return `${ref.kind} ${ref.name}: ${ref.apiVersion} ${ref.kind} is not served by this cluster (install its CRDs or turn the feature off)`;
  // API messages about a Secret could echo its data; name the failure only.
  return `${ref.kind} ${ref.name}: ${e.reason}${ref.kind === 'Secret' ? '' : ` (${e.message.slice(0, 300)})`}`;
}

/** Reconciler runs reconcile passes; it remembers what it applied per relay. */
export class Reconciler {
  private readonly records = new Map<string, Map<string, AppliedRecord>>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** reconcile runs one pass for the relay at key ("namespace/name"). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { kube } = this.deps;
    const read = await kube.get(relayRefOf(key));
    if (!read.ok) return { result: 'retry', reason: 'ReadFailed', message: read.error.message };
    const raw = read.value;
    if (!raw || raw.metadata.deletionTimestamp) {
      // Children go with their owner through garbage collection.
      this.records.delete(key);
      return { result: 'done', reason: 'Gone' };
    }
    if (raw.metadata.annotations?.[PAUSED_ANNOTATION] === 'true') {
      return this.finish(raw, { paused: true });
    }
    const parsed = parseRelay(raw);
    if (!parsed.ok) {
      return this.finish(raw, { problem: { reason: 'InvalidSpec', message: formatProblems(parsed.problems), stalled: true } });
    }
    const model = relayModel(parsed.relay, this.deps.builder);

    const refs = usedSecretRefs(model);
    const observed = await observeRelay(kube, model, refs);
    if (!observed.ok) return { result: 'retry', reason: 'ObserveFailed', message: observed.error.message };
    const { children, generated: existingGenerated, referenced } = observed.observed;
    const missing = referenced.filter((r) => r.value === undefined);
    if (missing.length > 0) {
      const message = `missing Secret keys: ${missing.map((r) => `${r.name}/${r.key}`).join(', ')}`;
      return this.finish(raw, { model, children, problem: { reason: 'SecretNotFound', message, stalled: true } });
    }

    const desired = desiredState(model, { referenced, existingGenerated, random: this.deps.random });

    const records = this.recordsFor(key);
    const plan = planChildren(desired, children, records);
    const outcome = await executePlan(kube, plan, children, records);
    return this.finish(raw, { model, children, outcome, problem: applyProblem(outcome) });
  }

  /** forget drops what the reconciler remembers about a relay (after deletion). */
  forget(key: string): void {
    this.records.delete(key);
  }

  private recordsFor(key: string): Map<string, AppliedRecord> {
    let r = this.records.get(key);
    if (!r) {
      r = new Map();
      this.records.set(key, r);
    }
    return r;
  }

  private async finish(
    raw: KubeObject,
    pass: { paused?: boolean; model?: RelayModel; children?: ReadonlyMap<string, KubeObject>; outcome?: ApplyOutcome; problem?: Problem },
  ): Promise<ReconcileResult> {
    const prevParsed = ViewportRelayStatus.safeParse(raw.status ?? {});
    const previous = prevParsed.success ? prevParsed.data : undefined;
    const m = pass.model;
    const find = (kind: string, name: string): KubeObject | undefined => {
      if (!m) return undefined;
      const k = refKey({ apiVersion: 'apps/v1', kind, namespace: m.namespace, name });
      return pass.outcome?.applied.get(k) ?? pass.children?.get(k);
    };
    const status = computeStatus({
      generation: raw.metadata.generation ?? 0,
      previous,
      paused: pass.paused ?? false,
      problem: pass.problem,
      backplaneMode: m?.backplaneMode ?? previous?.backplane?.mode ?? 'single',
      endpoint: m?.endpoint ?? previous?.endpoint,
      selector: m ? selectorString(selectorLabels(m, 'relay')) : previous?.selector,
      workload: m ? find(m.pinned ? 'StatefulSet' : 'Deployment', m.names.workload) : undefined,
      redis: m?.managedRedis ? find('Deployment', m.names.redis) : undefined,
      managedRedis: m?.managedRedis ?? false,
      now: new Date(this.deps.clock.now()),
    });

    const relay: RelayRef = { name: raw.metadata.name, namespace: raw.metadata.namespace ?? '', uid: raw.metadata.uid ?? '' };
    if (stableJson(raw.status ?? {}) !== stableJson(status)) {
      const res = await this.deps.kube.applyStatus({
        apiVersion: RELAY_API_VERSION,
        kind: RELAY_KIND,
        metadata: { name: relay.name, namespace: relay.namespace },
        status,
      });
      if (!res.ok && !isNotFound(res.error)) {
        return { result: 'retry', reason: 'StatusWriteFailed', message: res.error.message };
      }
    }
    await this.emitEvents(relay, previous, status, pass.outcome);

    // A spec fix arrives as a watch event; anything else (missing Secrets, an
    // add-on API installed later, transient errors) is retried with backoff.
    const stalled = conditionOf(status, 'Stalled')?.status === 'True';
    if (pass.problem && pass.problem.reason !== 'InvalidSpec') {
      return { result: 'retry', reason: pass.problem.reason, message: pass.problem.message, stalled };
    }
    return { result: 'done', reason: pass.problem?.reason ?? (pass.paused ? 'Paused' : 'Reconciled'), stalled };
  }

  private async emitEvents(
    relay: RelayRef,
    previous: ViewportRelayStatus | undefined,
    next: ViewportRelayStatus,
    outcome: ApplyOutcome | undefined,
  ): Promise<void> {
    const { events } = this.deps;
    const was = (t: 'Ready' | 'Stalled' | 'Reconciling') => conditionOf(previous, t);
    const now = (t: 'Ready' | 'Stalled' | 'Reconciling') => conditionOf(next, t);
    if (previous?.paused !== true && next.paused === true) await events.record(relay, 'Normal', 'Paused', 'reconciliation paused by annotation');
    if (previous?.paused === true && next.paused !== true) await events.record(relay, 'Normal', 'Resumed', 'reconciliation resumed');
    if (outcome && outcome.created.length > 0) {
      await events.record(relay, 'Normal', 'Created', `created ${outcome.created.map((r) => `${r.kind}/${r.name}`).join(', ')}`);
    }
    if (outcome && outcome.pruned.length > 0) {
      await events.record(relay, 'Normal', 'Pruned', `deleted ${outcome.pruned.map((r) => `${r.kind}/${r.name}`).join(', ')}`);
    }
    const stalled = now('Stalled');
    if (stalled?.status === 'True' && (was('Stalled')?.status !== 'True' || was('Stalled')?.reason !== stalled.reason)) {
      await events.record(relay, 'Warning', stalled.reason, stalled.message);
    }
    const reconciling = now('Reconciling');
    if (reconciling?.reason === 'ApplyFailed' && was('Reconciling')?.reason !== 'ApplyFailed') {
      await events.record(relay, 'Warning', 'ApplyFailed', reconciling.message);
    }
    const ready = now('Ready');
    if (ready?.status === 'True' && was('Ready')?.status !== 'True') {
      await events.record(relay, 'Normal', 'Ready', `${ready.message}; endpoint ${next.endpoint ?? ''}`);
    }
  }
}

/** applyProblem turns apply errors into a Problem: permanent ones stall, others are retried. */
export function applyProblem(outcome: ApplyOutcome): Problem | undefined {
  if (outcome.errors.length === 0) return undefined;
  const permanent = outcome.errors.filter((e) => isPermanent(e.error));
  const list = (permanent.length > 0 ? permanent : outcome.errors).map((e) => describeError(e.ref, e.error)).join('; ');
  return permanent.length > 0
    ? { reason: 'ApplyRejected', message: `the API server rejected ${list}`, stalled: true }
    : { reason: 'ApplyFailed', message: `apply failed, retrying: ${list}`, stalled: false };
}
