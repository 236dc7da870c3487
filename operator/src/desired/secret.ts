// The <name>-generated Secret: admin token, bus HMAC key and managed Redis
// password when the spec does not reference its own. Values come from an
// injected random source; existing values are always kept.
import type { KubeObject } from '../object.js';
import { childLabels } from './labels.js';
import { generatedKeysNeeded, type RelayModel } from './model.js';

/** RandomSecret returns a fresh high-entropy secret string (URL-safe). */
export type RandomSecret = () => string;

/** generatedSecretValues keeps every existing needed value and draws the missing ones from random. */
export function generatedSecretValues(
  m: RelayModel,
  existing: Readonly<Record<string, string>> | undefined,
  random: RandomSecret,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of generatedKeysNeeded(m)) {
    const kept = existing?.[key];
    values[key] = kept !== undefined && kept !== '' ? kept : random();
  }
  return values;
}

/** desiredGeneratedSecret is the Secret holding generated values (plain text in, base64 out). */
export function desiredGeneratedSecret(m: RelayModel, values: Readonly<Record<string, string>>): KubeObject {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) data[key] = Buffer.from(value, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: m.names.generatedSecret, namespace: m.namespace, labels: childLabels(m, 'relay') },
    type: 'Opaque',
    data,
  };
}
