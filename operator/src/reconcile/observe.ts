// Observe: read every child of one relay and every Secret value its pods use,
// into one object. Reads only; lists are label-scoped to the relay.
import { CHILD_KINDS } from '../kinds.js';
import { isNotFound, type KubeAdapter, type KubeError } from '../kube/adapter.js';
import { RELAY_LABEL } from '../desired/labels.js';
import type { SecretValue } from '../desired/hash.js';
import type { RelayModel } from '../desired/model.js';
import { refKey, refOf, type KubeObject } from '../object.js';

/** Observed is the current state of one relay's world. */
export interface Observed {
  /** Children owned (controller ref) by this relay, by refKey. */
  children: Map<string, KubeObject>;
  /** Decoded data of <name>-generated, when it exists. */
  generated: Record<string, string> | undefined;
  /** Values of referenced (user) Secret keys; value undefined = missing. */
  referenced: SecretValue[];
}

/** ObserveResult is Observed, or the first read error. */
export type ObserveResult = { ok: true; observed: Observed } | { ok: false; error: KubeError };

function decode(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (data === null || typeof data !== 'object') return out;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  return out;
}

/** isOwnedBy is true when obj's controller reference points at uid. */
export function isOwnedBy(obj: KubeObject, uid: string): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o) => o.controller === true && o.uid === uid);
}

/** observeRelay lists the relay's children and reads the Secrets in refs. */
export async function observeRelay(
  kube: KubeAdapter,
  m: RelayModel,
  refs: readonly { name: string; key: string }[],
): Promise<ObserveResult> {
  const children = new Map<string, KubeObject>();
  // One list at a time: with many relays, a dozen parallel lists per pass
  // crowd a small API server's fair-queuing budget (429s for every client).
  for (const k of CHILD_KINDS) {
    const res = await kube.list(k.apiVersion, k.kind, { namespace: m.namespace, labelSelector: `${RELAY_LABEL}=${m.name}` });
    if (!res.ok) {
      // An add-on API (Gateway, Prometheus Operator, cert-manager) that is not installed has no children.
      if (k.optional && isNotFound(res.error)) continue;
      return { ok: false, error: res.error };
    }
    for (const obj of res.value) if (isOwnedBy(obj, m.uid)) children.set(refKey(refOf(obj)), obj);
  }
  const generatedObj = children.get(refKey({ apiVersion: 'v1', kind: 'Secret', namespace: m.namespace, name: m.names.generatedSecret }));
  const generated = generatedObj ? decode(generatedObj.data) : undefined;

  const userSecretNames = [...new Set(refs.map((r) => r.name).filter((n) => n !== m.names.generatedSecret))];
  const secrets = new Map<string, Record<string, string> | undefined>();
  for (const name of userSecretNames) {
    const res = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: m.namespace, name });
    if (!res.ok) return { ok: false, error: res.error };
    secrets.set(name, res.value ? decode(res.value.data) : undefined);
  }
  const referenced = refs
    .filter((r) => r.name !== m.names.generatedSecret)
    .map((r) => ({ name: r.name, key: r.key, value: secrets.get(r.name)?.[r.key] }));
  return { ok: true, observed: { children, generated, referenced } };
}

/** WorkloadFacts are the cluster's own reasons why a relay's pods do not come up. */
export type WorkloadFactsResult = { ok: true; pods: KubeObject[]; events: KubeObject[] } | { ok: false; error: KubeError };

/** observePods lists the relay's pods (relay and managed Redis) and, for a StatefulSet, the Events about it:
 * only called while the relay is not ready, so a settled relay costs no extra request. */
export async function observePods(kube: KubeAdapter, m: RelayModel, statefulSet: KubeObject | undefined): Promise<WorkloadFactsResult> {
  const pods = await kube.list('v1', 'Pod', { namespace: m.namespace, labelSelector: `${RELAY_LABEL}=${m.name}` });
  if (!pods.ok) return pods;
  const uid = statefulSet?.metadata.uid;
  if (uid === undefined) return { ok: true, pods: pods.value, events: [] };
  // A StatefulSet reports pods it cannot create only as Events.
  const events = await kube.list('v1', 'Event', { namespace: m.namespace, fieldSelector: `involvedObject.uid=${uid},reason=FailedCreate` });
  if (!events.ok) return events;
  return { ok: true, pods: pods.value, events: events.value };
}
