// Content hashes: the spec-hash stamped on every child (skip unchanged
// applies) and the checksum of Secret values the pods read (roll on change).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../object.js';
import { SECRETS_CHECKSUM_ANNOTATION, SPEC_HASH_ANNOTATION } from './labels.js';

/** stableJson serialises with sorted object keys so equal objects hash equally. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** shortHash is a 16-hex-digit sha256 prefix of a string. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * withoutRuntimeValues drops what only a live cluster knows: owner references (the relay's uid), generated
 * Secret data and the pod template's Secret checksum. `render` prints the result, and the spec hash is taken
 * over it, so a rendered child and the applied one carry the same hash (a server-side diff stays empty).
 * Changes to those values are still applied: the reconciler compares every field, not only the hash.
 */
export function withoutRuntimeValues(obj: KubeObject): KubeObject {
  const { ownerReferences: _owners, ...metadata } = obj.metadata;
  const out: KubeObject = { ...obj, metadata };
  if (obj.kind === 'Secret') delete out.data;
  const spec = obj.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined;
  const annotations = spec?.template?.metadata?.annotations;
  if (spec?.template && annotations?.[SECRETS_CHECKSUM_ANNOTATION] !== undefined) {
    const { [SECRETS_CHECKSUM_ANNOTATION]: _checksum, ...rest } = annotations;
    const { annotations: _all, ...templateMeta } = spec.template.metadata ?? {};
    const metadata = Object.keys(rest).length > 0 ? { ...templateMeta, annotations: rest } : templateMeta;
    out.spec = { ...spec, template: { ...spec.template, metadata } };
  }
  return out;
}

/** withSpecHash returns obj with the spec-hash annotation of its own content (hash annotation and runtime values excluded). */
export function withSpecHash(obj: KubeObject): KubeObject {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  delete annotations[SPEC_HASH_ANNOTATION];
  const unstamped = withoutRuntimeValues({ ...obj, metadata: { ...obj.metadata, annotations } });
  const hash = shortHash(stableJson(unstamped));
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...annotations, [SPEC_HASH_ANNOTATION]: hash } } };
}

/** specHashOf reads the spec-hash annotation of an observed object. */
export function specHashOf(obj: KubeObject | undefined): string | undefined {
  return obj?.metadata.annotations?.[SPEC_HASH_ANNOTATION];
}

/** SecretValue is one Secret key the pods read, with its current value (undefined when missing). */
export interface SecretValue {
  name: string;
  key: string;
  value: string | undefined;
}

/** secretsChecksum hashes the values the pods read; any change rolls the pods. */
export function secretsChecksum(values: readonly SecretValue[]): string {
  const sorted = [...values].sort((a, b) => `${a.name}/${a.key}`.localeCompare(`${b.name}/${b.key}`));
  // Hash of hashes: the checksum never carries enough to test a guessed secret cheaply per value.
  return shortHash(sorted.map((v) => `${v.name}/${v.key}=${shortHash(v.value ?? '')}`).join('\n'));
}
