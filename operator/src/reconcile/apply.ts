// Apply: decide which desired children differ from what was last applied,
// server-side apply those, and delete owned children no longer desired.
import { FIELD_MANAGER } from '../api/v1alpha1/group.js';
import { specHashOf } from '../desired/hash.js';
import type { KubeAdapter, KubeError } from '../kube/adapter.js';
import { refKey, refOf, type KubeObject, type ObjectRef } from '../object.js';

/** AppliedRecord remembers what the operator last wrote to one child. */
export interface AppliedRecord {
  hash: string;
  uid: string | undefined;
  generation: number | undefined;
  resourceVersion: string | undefined;
}

/** Plan is the work for one pass. */
export interface Plan {
  apply: KubeObject[];
  prune: { ref: ObjectRef; uid: string | undefined }[];
}

/**
 * isUpToDate: the observed child carries the desired hash and nobody changed it
 * since our last apply (generation for kinds that have one, else resourceVersion).
 * Without a record (operator restart) we re-apply once: SSA of identical content is a no-op.
 */
export function isUpToDate(desired: KubeObject, observed: KubeObject | undefined, record: AppliedRecord | undefined): boolean {
  if (!observed || !record) return false;
  if (specHashOf(observed) !== specHashOf(desired) || record.hash !== specHashOf(desired)) return false;
  if (record.uid !== observed.metadata.uid) return false;
  if (observed.metadata.generation !== undefined) return observed.metadata.generation === record.generation;
  return observed.metadata.resourceVersion === record.resourceVersion;
}

/** planChildren compares desired with observed children and the applied records. Pure. */
export function planChildren(
  desired: readonly KubeObject[],
  observed: ReadonlyMap<string, KubeObject>,
  records: ReadonlyMap<string, AppliedRecord>,
): Plan {
  const desiredKeys = new Set(desired.map((d) => refKey(refOf(d))));
  const apply = desired.filter((d) => {
    const key = refKey(refOf(d));
    return !isUpToDate(d, observed.get(key), records.get(key));
  });
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

/** executePlan applies then prunes; every call is attempted, errors are collected. */
export async function executePlan(
  kube: KubeAdapter,
  plan: Plan,
  observed: ReadonlyMap<string, KubeObject>,
  records: Map<string, AppliedRecord>,
): Promise<ApplyOutcome> {
  const out: ApplyOutcome = { applied: new Map(), errors: [], created: [], pruned: [] };
  // In order: a Deployment should not start before its Secret and ServiceAccount exist.
  for (const obj of plan.apply) {
    const ref = refOf(obj);
    const key = refKey(ref);
    const handoff = replicasHandoff(obj, observed.get(key));
    const handed = handoff === undefined ? undefined : await kube.apply(handoff, HANDOFF_MANAGER);
    if (handed !== undefined && !handed.ok) {
      records.delete(key);
      out.errors.push({ ref, error: handed.error });
      continue;
    }
    const res = await kube.apply(obj);
    if (!res.ok) {
      records.delete(key);
      out.errors.push({ ref, error: res.error });
      continue;
    }
    if (!observed.has(key)) out.created.push(ref);
    out.applied.set(key, res.value);
    records.set(key, {
      hash: specHashOf(obj) ?? '',
      uid: res.value.metadata.uid,
      generation: res.value.metadata.generation,
      resourceVersion: res.value.metadata.resourceVersion,
    });
  }
  for (const { ref, uid } of plan.prune) {
    const res = await kube.delete(ref, uid);
    records.delete(refKey(ref));
    if (res.ok || res.error.status === 404) out.pruned.push(ref);
    else out.errors.push({ ref, error: res.error });
  }
  return out;
}
