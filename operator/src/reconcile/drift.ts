// Drift: does a live child still carry every field the operator applies, with
// the operator's values? The fields the operator owns are exactly those in its
// desired object, so "covers" is a subset comparison: fields others add (the
// API server's defaults, a controller's status, another tool's annotation) are
// not drift. Pure; apply.ts acts on the answer.
import { quantityValue } from '../desired/quantity.js';
import type { KubeObject } from '../object.js';

function sameScalar(want: unknown, got: unknown): boolean {
  if (want === got) return true;
  // A quantity the API server rewrote to its canonical form is the same value.
  if (typeof want === 'string' && typeof got === 'string') {
    const a = quantityValue(want);
    const b = quantityValue(got);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  return false;
}

const isEmpty = (v: unknown): boolean =>
  (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);

/** covers: got carries every field of want with want's value. Lists of objects match element by element in
 * order (the API server keeps the order of applied list items); extra elements someone else added are drift
 * only when they break that order. An empty object or list, false, 0 or "" in want matches a missing field. */
export function covers(got: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  // The API server does not store a zero value it defaults to (a Go omitempty field): missing is that value.
  if (got === undefined || got === null) return isEmpty(want) || want === null || want === false || want === 0 || want === '';
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return false;
    // Scalars lists (args, command, finalizers) are owned whole: exact.
    if (want.every((w) => w === null || typeof w !== 'object')) return want.length === got.length && want.every((w, i) => sameScalar(w, got[i]));
    let at = 0;
    for (const w of want) {
      while (at < got.length && !covers(got[at], w)) at += 1;
      if (at >= got.length) return false;
      at += 1;
    }
    return true;
  }
  if (typeof want === 'object') {
    if (typeof got !== 'object' || Array.isArray(got)) return false;
    const g = got as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) => covers(g[k], v));
  }
  return sameScalar(want, got);
}

// Server-owned metadata the desired object never carries.
const META_KEYS = ['name', 'namespace', 'labels', 'annotations', 'ownerReferences'] as const;

/** drifted: the live child lacks or changed a field the operator applies. */
export function drifted(desired: KubeObject, observed: KubeObject): boolean {
  const { metadata, ...body } = desired;
  for (const k of META_KEYS) if (!covers(observed.metadata[k], metadata[k])) return true;
  const live = observed as Record<string, unknown>;
  return Object.entries(body).some(([k, v]) => k !== 'apiVersion' && k !== 'kind' && !covers(live[k], v));
}

/** JsonPatchOp is one RFC 6902 operation. */
export type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

const pointer = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * repairOps: a JSON patch that puts back, wholesale, every spec field (or top-level field) the live child no
 * longer matches. Server-side apply merges lists item by item, so an item another manager added or renamed
 * (a Service port renamed by `kubectl patch`) can make the merged object invalid (a duplicate port name);
 * replacing the list removes the foreign item. Guarded by the resourceVersion, so it never overwrites a
 * change it has not seen. undefined when nothing can be repaired this way.
 */
export function repairOps(desired: KubeObject, observed: KubeObject): JsonPatchOp[] | undefined {
  const ops: JsonPatchOp[] = [];
  const live = observed as Record<string, unknown>;
  for (const [k, v] of Object.entries(desired)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata' || v === undefined) continue;
    const got = live[k];
    const nested = k === 'spec' && v !== null && typeof v === 'object' && got !== null && typeof got === 'object';
    if (!nested) {
      if (!covers(got, v)) ops.push({ op: got === undefined ? 'add' : 'replace', path: `/${pointer(k)}`, value: v });
      continue;
    }
    const liveSpec = got as Record<string, unknown>;
    for (const [sk, sv] of Object.entries(v as Record<string, unknown>)) {
      if (sv === undefined || covers(liveSpec[sk], sv)) continue;
      ops.push({ op: liveSpec[sk] === undefined ? 'add' : 'replace', path: `/spec/${pointer(sk)}`, value: sv });
    }
  }
  const rv = observed.metadata.resourceVersion;
  if (ops.length === 0 || rv === undefined) return undefined;
  return [{ op: 'test', path: '/metadata/resourceVersion', value: rv }, ...ops];
}
