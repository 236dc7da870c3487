// Content hashes: the spec-hash stamped on every child (skip unchanged
// applies) and the checksum of Secret values the pods read (roll on change).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../object.js';
import { SPEC_HASH_ANNOTATION } from './labels.js';

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

/** withSpecHash returns obj with the spec-hash annotation of its own content (hash annotation excluded). */
export function withSpecHash(obj: KubeObject): KubeObject {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  delete annotations[SPEC_HASH_ANNOTATION];
  const unstamped = { ...obj, metadata: { ...obj.metadata, annotations } };
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
