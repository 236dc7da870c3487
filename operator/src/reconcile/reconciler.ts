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
import { executePlan, planChildren, type ApplyOutcome } from './apply.js';
import type { EventRecorder, RelayRef } from './events.js';
import { observePods, observeRelay } from './observe.js';
import { exposureOf, failedCreateEvent, podFailures, replicaFailure, type PodFailure } from './facts.js';
import { computeStatus, conditionOf, workloadState, type Problem } from './status.js';

/**
 * ReconcileResult tells the queue what to do with the key next; stalled is the
 * Stalled condition the pass wrote (undefined when it wrote no status).
 */
export type ReconcileResult =
  | { result: 'done'; reason: string; stalled?: boolean; /** look again after this long: pods or exposure not settled yet */ recheckAfterMs?: number }
  | { result: 'retry'; reason: string; message: string; stalled?: boolean };

/** RECHECK_MS: a relay that is not ready yet is looked at again this soon (pod failures and exposure
 * show up in objects the operator does not watch). */
export const RECHECK_MS = 15_000;

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

/** Reconciler runs reconcile passes; it remembers only how often a relay's children met the same server error. */
export class Reconciler {
  private readonly repeated = new Map<string, { text: string; count: number }>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** reconcile runs one pass for the relay at key ("namespace/name"). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { kube } = this.deps;
    const read = await kube.get(relayRefOf(key));
    if (!read.ok) return { result: 'retry', reason: 'ReadFailed', message: read.error.message };
    const raw = read.value;
    if (!raw || raw.metadata.deletionTimestamp) {
      // Children go with their owner through garbage collection.
      this.forget(key);
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
    const mounted = mountedSecretRefs(model);
    const observed = await observeRelay(kube, model, [...refs, ...mounted]);
    if (!observed.ok) return { result: 'retry', reason: 'ObserveFailed', message: observed.error.message };
    const { children, generated: existingGenerated } = observed.observed;
    const missing = observed.observed.referenced.filter((r) => r.value === undefined);
    if (missing.length > 0) {
      const message = `missing Secret keys: ${missing.map((r) => `${r.name}/${r.key}`).join(', ')}`;
      return this.finish(raw, { model, children, problem: { reason: 'SecretNotFound', message, stalled: true } });
    }
    // Mounted Secrets are checked, not hashed: the pods read them as files, which the kubelet refreshes.
    const isMounted = (r: { name: string; key: string }) => mounted.some((x) => x.name === r.name && x.key === r.key) && !refs.some((x) => x.name === r.name && x.key === r.key);
    const referenced = observed.observed.referenced.filter((r) => !isMounted(r));

    const desired = desiredState(model, { referenced, existingGenerated, random: this.deps.random });

    const plan = planChildren(desired, children);
    const outcome = await executePlan(kube, plan, children);
    const problem = applyProblem(outcome, this.serverErrors(key, outcome));
    const failures = problem ? { ok: true as const, value: [] } : await this.podFailuresOf(model, outcome, children);
    if (!failures.ok) return { result: 'retry', reason: 'ObserveFailed', message: failures.error.message };
    return this.finish(raw, { model, children, outcome, problem, podFailures: failures.value });
  }

  /** podFailuresOf gathers why pods do not come up, only while the relay or its Redis is not ready. */
  private async podFailuresOf(
    m: RelayModel,
    outcome: ApplyOutcome,
    children: ReadonlyMap<string, KubeObject>,
  ): Promise<{ ok: true; value: PodFailure[] } | { ok: false; error: KubeError }> {
    const find = (kind: string, name: string): KubeObject | undefined => {
      const k = refKey({ apiVersion: 'apps/v1', kind, namespace: m.namespace, name });
      return outcome.applied.get(k) ?? children.get(k);
    };
    const workload = find(m.pinned ? 'StatefulSet' : 'Deployment', m.names.workload);
    const redis = m.managedRedis ? find('Deployment', m.names.redis) : undefined;
    const settled = workload !== undefined && workloadState(workload).current && (!redis || workloadState(redis).current);
    if (settled) return { ok: true, value: [] };
    const facts = await observePods(this.deps.kube, m, m.pinned ? workload : undefined);
    if (!facts.ok) return facts;
    const created = [replicaFailure(workload), replicaFailure(redis), failedCreateEvent(m.pinned ? workload : undefined, facts.events, this.deps.clock.now())];
    return { ok: true, value: [...created.filter((f): f is PodFailure => f !== undefined), ...podFailures(facts.pods)] };
  }

  /** serverErrors counts, per relay, consecutive passes in which the API server answered a child with the same 5xx. */
  private serverErrors(key: string, outcome: ApplyOutcome): number {
    const text = outcome.errors.filter((e) => (e.error.status ?? 0) >= 500).map((e) => `${refKey(e.ref)} ${e.error.message}`).join('\n');
    const prev = this.repeated.get(key);
    const count = text === '' ? 0 : prev?.text === text ? prev.count + 1 : 1;
    if (count === 0) this.repeated.delete(key);
    else this.repeated.set(key, { text, count });
    return count;
  }

  /** forget drops what the reconciler remembers about a relay (after deletion). */
  forget(key: string): void {
    this.repeated.delete(key);
  }

  private async finish(
    raw: KubeObject,
    pass: {
      paused?: boolean;
      model?: RelayModel;
      children?: ReadonlyMap<string, KubeObject>;
      outcome?: ApplyOutcome;
      problem?: Problem;
      podFailures?: readonly PodFailure[];
    },
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
      podFailures: pass.podFailures,
      exposureConfigured: m ? m.spec.exposure?.ingress !== undefined || m.spec.exposure?.httpRoute !== undefined : false,
      exposure: m ? exposureOf(exposureChildren(m, pass.children, pass.outcome)) : undefined,
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
    if (pass.paused || pass.problem || conditionOf(status, 'Ready')?.status === 'True') {
      return { result: 'done', reason: pass.problem?.reason ?? (pass.paused ? 'Paused' : 'Reconciled'), stalled };
    }
    const stalledCondition = conditionOf(status, 'Stalled');
    const reason = stalledCondition?.status === 'True' ? stalledCondition.reason : (conditionOf(status, 'Reconciling')?.reason ?? 'Progressing');
    return { result: 'done', reason, stalled, recheckAfterMs: RECHECK_MS };
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

/** REPEATED_5XX: the same server error on a child this many passes in a row is bad input, not a hiccup. */
export const REPEATED_5XX = 3;

/** isBadInput: the API server failed to decode what we sent (it answers 500 for an unparsable quantity). */
export const isBadInput = (e: KubeError): boolean =>
  e.status === 500 && /quantities must match|unable to decode|cannot unmarshal|failed to convert|invalid value/i.test(e.message);

/** applyProblem turns apply errors into a Problem: permanent ones stall (4xx, a body the API server cannot
 * decode, the same 5xx pass after pass), others are retried. */
export function applyProblem(outcome: ApplyOutcome, repeated5xx = 0): Problem | undefined {
  if (outcome.errors.length === 0) return undefined;
  const permanent = outcome.errors.filter((e) => isPermanent(e.error) || isBadInput(e.error) || ((e.error.status ?? 0) >= 500 && repeated5xx >= REPEATED_5XX));
  const list = (permanent.length > 0 ? permanent : outcome.errors).map((e) => describeError(e.ref, e.error)).join('; ');
  return permanent.length > 0
    ? { reason: 'ApplyRejected', message: `the API server rejected ${list}`, stalled: true }
    : { reason: 'ApplyFailed', message: `apply failed, retrying: ${list}`, stalled: false };
}

/** mountedSecretRefs are the Secret keys the pods mount as files (the mTLS client certificate). */
export function mountedSecretRefs(m: RelayModel): { name: string; key: string }[] {
  const name = m.spec.platform.authMode === 'mtls' ? m.spec.platform.mtlsSecretName : undefined;
  return name === undefined ? [] : [{ name, key: 'tls.crt' }, { name, key: 'tls.key' }];
}

const EXPOSURE_KINDS = new Set(['Ingress', 'HTTPRoute', 'Certificate']);

/** exposureChildren: the relay's Ingress, HTTPRoutes and Certificate as last seen (apply results win over the list). */
function exposureChildren(m: RelayModel, children: ReadonlyMap<string, KubeObject> | undefined, outcome: ApplyOutcome | undefined): KubeObject[] {
  const all = new Map(children ?? []);
  for (const [k, v] of outcome?.applied ?? []) all.set(k, v);
  return [...all.values()].filter((c) => EXPOSURE_KINDS.has(c.kind) && c.metadata.namespace === m.namespace);
}
