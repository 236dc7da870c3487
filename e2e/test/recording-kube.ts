// A KubeAdapter wrapper that records which (resource, verb) pairs the operator
// exercised and every error it got back, so a test can check the RBAC role
// against actual use and prove no request was forbidden.
import { apiGroupOf, findKind } from '../../operator/src/kinds.js';
import type { KubeAdapter, KubeError, KubeResult } from '../../operator/src/kube/adapter.js';

type JsonPatch = NonNullable<KubeAdapter['jsonPatch']>;

/** RecordedError is one failed call, by verb and resource. */
export interface RecordedError {
  readonly verb: string;
  readonly resource: string;
  readonly error: KubeError;
}

/** RecordedCall is one request the operator made, by verb (watches are not calls). */
export interface RecordedCall {
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  /** name is the object's name (undefined for lists). */
  readonly name: string | undefined;
}

/** WRITE_VERBS are the verbs that change state on the API server. */
export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'patch', 'update', 'delete']);

/** countByVerb tallies calls as { verb: count }. */
export function countByVerb(calls: readonly RecordedCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.verb] = (out[c.verb] ?? 0) + 1;
  return out;
}

/** RecordingKube is the wrapped adapter plus what it saw. */
export interface RecordingKube {
  readonly kube: KubeAdapter;
  /** used holds "group/resource:verb" keys, e.g. "apps/deployments:patch" ("" group for core). */
  readonly used: Set<string>;
  readonly errors: RecordedError[];
  /** calls lists every request in order (server-side apply as one patch). */
  readonly calls: RecordedCall[];
}

/** resourceOf names apiVersion+kind as "group/plural" (plural from the operator's kind table). */
export function resourceOf(apiVersion: string, kind: string, subresource?: string): string {
  const plural = findKind(apiVersion, kind)?.plural ?? `${kind.toLowerCase()}s`;
  return `${apiGroupOf(apiVersion)}/${plural}${subresource ? `/${subresource}` : ''}`;
}

/** recordingKube wraps inner; a watch counts as list + watch, server-side
 * apply as patch + create, replace as update. */
export function recordingKube(inner: KubeAdapter): RecordingKube {
  const used = new Set<string>();
  const errors: RecordedError[] = [];
  const calls: RecordedCall[] = [];
  const note = <T>(verb: string, resource: string, res: KubeResult<T>, at: { namespace?: string; name?: string }): KubeResult<T> => {
    used.add(`${resource}:${verb}`);
    calls.push({ verb, resource, namespace: at.namespace, name: at.name });
    if (!res.ok) errors.push({ verb, resource, error: res.error });
    return res;
  };
  const kube: KubeAdapter = {
    get: async (ref) => note('get', resourceOf(ref.apiVersion, ref.kind), await inner.get(ref), ref),
    list: async (apiVersion, kind, opts) => note('list', resourceOf(apiVersion, kind), await inner.list(apiVersion, kind, opts), opts),
    apply: async (obj, fieldManager) => {
      // Server-side apply creates what is missing, so it needs create as well as patch.
      used.add(`${resourceOf(obj.apiVersion, obj.kind)}:create`);
      return note('patch', resourceOf(obj.apiVersion, obj.kind), await inner.apply(obj, fieldManager), obj.metadata);
    },
    applyStatus: async (obj) => note('patch', resourceOf(obj.apiVersion, obj.kind, 'status'), await inner.applyStatus(obj), obj.metadata),
    create: async (obj) => note('create', resourceOf(obj.apiVersion, obj.kind), await inner.create(obj), obj.metadata),
    replace: async (obj) => note('update', resourceOf(obj.apiVersion, obj.kind), await inner.replace(obj), obj.metadata),
    delete: async (ref, uid) => note('delete', resourceOf(ref.apiVersion, ref.kind), await inner.delete(ref, uid), ref),
    ...(inner.jsonPatch ? { jsonPatch: async (ref: Parameters<JsonPatch>[0], ops: Parameters<JsonPatch>[1]) => note('patch', resourceOf(ref.apiVersion, ref.kind), await inner.jsonPatch!(ref, ops), ref) } : {}),
    // /version is a non-resource URL every authenticated client may read: no RBAC entry to record.
    ...(inner.serverVersion ? { serverVersion: () => inner.serverVersion!() } : {}),
    watch: (apiVersion, kind, opts, callbacks) => {
      const resource = resourceOf(apiVersion, kind);
      used.add(`${resource}:list`);
      used.add(`${resource}:watch`);
      return inner.watch(apiVersion, kind, opts, {
        ...callbacks,
        onError: (error) => {
          errors.push({ verb: 'watch', resource, error });
          callbacks.onError(error);
        },
      });
    },
  };
  return { kube, used, errors, calls };
}
