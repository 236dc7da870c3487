// Apply: decide which desired children differ from the live ones (spec hash
// and every field the operator applies), server-side apply those, repair what
// the API server refuses to merge, and delete owned children no longer desired.
import { FIELD_MANAGER } from '../api/v1alpha1/group.js';
import { specHashOf } from '../desired/hash.js';
import type { KubeAdapter, KubeError, KubeResult } from '../kube/adapter.js';
import { refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';
import { drifted, repairOps } from './drift.js';

/** Plan is the work for one pass. */
export interface Plan {
  apply: KubeObject[];
  prune: { ref: ObjectRef; uid: string | undefined }[];
}

/**
 * isUpToDate: the observed child carries the desired hash (nothing was removed from what the operator applies)
 * and every field the operator applies, with its value (nobody edited, removed or re-owned one since). Checked
 * on every pass, so an edited annotation or a patched port is put back at the next event or resync.
 */
export function isUpToDate(desired: KubeObject, observed: KubeObject | undefined): boolean {
  if (!observed) return false;
  return specHashOf(observed) === specHashOf(desired) && !drifted(desired, observed);
}

/** planChildren compares desired with observed children. Pure. */
export function planChildren(desired: readonly KubeObject[], observed: ReadonlyMap<string, KubeObject>): Plan {
  const desiredKeys = new Set(desired.map((d) => refKey(refOf(d))));
  const apply = desired.filter((d) => !isUpToDate(d, observed.get(refKey(refOf(d)))));
  const prune = [...observed.entries()]
    .filter(([key]) => !desiredKeys.has(key))
    .map(([, o]) => ({ ref: refOf(o), uid: o.metadata.uid }));
  return { apply, prune };
}

/** HANDOFF_MANAGER co-owns a workload's replicas for a moment so the operator can let go of the field. */
export const HANDOFF_MANAGER = `${FIELD_MANAGER}-replicas-handoff`;

const specOf = (o: KubeObject): Record<string, unknown> | undefined => o.spec as Record<string, unknown> | undefined;

/** ownsReplicas is true when the operator's own apply owns spec.replicas of obj. */
export function ownsReplicas(obj: KubeObject): boolean {
  return (obj.metadata.managedFields ?? []).some((m) => {
    const spec = m.fieldsV1?.['f:spec'] as Record<string, unknown> | undefined;
    return m.manager === FIELD_MANAGER && m.operation === 'Apply' && !m.subresource && spec?.['f:replicas'] !== undefined;
  });
}

/**
 * replicasHandoff: when the desired workload leaves replicas out (an autoscaler
 * owns it now) while the operator's apply still owns the field, dropping it
 * would make the API server reset replicas to 1. Applying the live value once
 * under HANDOFF_MANAGER first makes the field co-owned, so the operator's next
 * apply releases it and the value stays. Pure; undefined when no hand-off is due.
 */
export function replicasHandoff(desired: KubeObject, observed: KubeObject | undefined): KubeObject | undefined {
  if (!observed || specOf(desired)?.replicas !== undefined) return undefined;
  const live = specOf(observed)?.replicas;
  if (typeof live !== 'number' || !ownsReplicas(observed)) return undefined;
  return {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: { name: desired.metadata.name, namespace: desired.metadata.namespace },
    spec: { replicas: live },
  };
}

/** ApplyOutcome reports what a pass wrote. */
export interface ApplyOutcome {
  /** Objects as returned by the API after apply, by refKey. */
  applied: Map<string, KubeObject>;
  errors: { ref: ObjectRef; error: KubeError }[];
  created: ObjectRef[];
  pruned: ObjectRef[];
}

/** RECREATE_KINDS may be deleted and created again when the API server forbids an update (an immutable
 * field): nothing runs in them. Workloads never are (their pods would go with them). */
const RECREATE_KINDS = new Set(['Service', 'Ingress', 'HTTPRoute', 'Certificate', 'PodDisruptionBudget', 'NetworkPolicy', 'HorizontalPodAutoscaler', 'ServiceMonitor']);

const isInvalid = (e: KubeError): boolean => e.status === 422;
const isImmutable = (e: KubeError): boolean => /immutable/i.test(e.message);

/**
 * applyRepairing: server-side apply, and when the API server refuses the merge of our fields with someone
 * else's (422), put our fields back wholesale with a resourceVersion-guarded JSON patch and apply again; when
 * it forbids the update itself (an immutable field) delete the child (uid precondition) and create it afresh.
 */
async function applyRepairing(kube: KubeAdapter, obj: KubeObject, observed: KubeObject | undefined): Promise<KubeResult<KubeObject>> {
  const first = await kube.apply(obj);
  if (first.ok || !observed || !isInvalid(first.error)) return first;
  let last: KubeResult<KubeObject> = first;
  if (!isImmutable(first.error)) {
    const ops = repairOps(obj, observed);
    if (!ops || !kube.jsonPatch) return first;
    const patched = await kube.jsonPatch(refOf(observed), ops);
    if (!patched.ok) return first;
    last = await kube.apply(obj);
    if (last.ok || !isImmutable(last.error)) return last;
  }
  // Only an immutable field gets here: the object cannot become what we apply without being created again.
  if (!RECREATE_KINDS.has(obj.kind)) return last;
  const removed = await kube.delete(refOf(observed), observed.metadata.uid);
  if (!removed.ok && removed.error.status !== 404) return last;
  return kube.apply(obj);
}

/** executePlan applies then prunes; every call is attempted, errors are collected. */
export async function executePlan(kube: KubeAdapter, plan: Plan, observed: ReadonlyMap<string, KubeObject>): Promise<ApplyOutcome> {
  const out: ApplyOutcome = { applied: new Map(), errors: [], created: [], pruned: [] };
  // In order: a Deployment should not start before its Secret and ServiceAccount exist.
  for (const obj of plan.apply) {
    const ref = refOf(obj);
    const key = refKey(ref);
    const handoff = replicasHandoff(obj, observed.get(key));
    const handed = handoff === undefined ? undefined : await kube.apply(handoff, HANDOFF_MANAGER);
    if (handed !== undefined && !handed.ok) {
      out.errors.push({ ref, error: handed.error });
      continue;
    }
    const res = await applyRepairing(kube, obj, observed.get(key));
    if (!res.ok) {
      out.errors.push({ ref, error: res.error });
      continue;
    }
    if (!observed.has(key)) out.created.push(ref);
    out.applied.set(key, res.value);
  }
  for (const { ref, uid } of plan.prune) {
    const res = await kube.delete(ref, uid);
    if (res.ok || res.error.status === 404) out.pruned.push(ref);
    else out.errors.push({ ref, error: res.error });
  }
  return out;
}
