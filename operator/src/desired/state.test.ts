import { describe, expect, it } from 'vitest';
import { modelOf, REDIS_MANAGED } from '../../test/relays.js';
import type { KubeObject } from '../object.js';
import { SECRETS_CHECKSUM_ANNOTATION } from './labels.js';
import { desiredState, userSecretRefs } from './state.js';

const fixed = (value: string) => () => value;
const secretData = (objects: KubeObject[]) => objects.find((o) => o.kind === 'Secret')?.data;
const podChecksum = (objects: KubeObject[]): unknown => {
  const workload = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'relay')?.spec as
    | { template: { metadata: { annotations: Record<string, string> } } }
    | undefined;
  return workload?.template.metadata.annotations[SECRETS_CHECKSUM_ANNOTATION];
};

describe('desiredState', () => {
  const model = modelOf({ backplane: REDIS_MANAGED });
  const referenced = userSecretRefs(model).map((r) => ({ ...r, value: 'v1' }));

  it('reads user Secret keys only, never the generated Secret', () => {
    expect(userSecretRefs(model).length).toBeGreaterThan(0);
    for (const r of userSecretRefs(model)) expect(r.name).not.toBe(model.names.generatedSecret);
  });

  it('keeps existing generated values and draws the missing ones', () => {
    const objects = desiredState(model, { referenced, existingGenerated: { 'admin-token': 'kept' }, random: fixed('new') });
    expect(secretData(objects)).toEqual({
      'admin-token': Buffer.from('kept').toString('base64'),
      'bus-hmac-key': Buffer.from('new').toString('base64'),
      'redis-password': Buffer.from('new').toString('base64'),
    });
  });

  it('rolls the pods when a referenced or generated value changes, and only then', () => {
    const base = podChecksum(desiredState(model, { referenced, existingGenerated: undefined, random: fixed('a') }));
    expect(base).toMatch(/^[0-9a-f]+$/);
    expect(podChecksum(desiredState(model, { referenced, existingGenerated: undefined, random: fixed('a') }))).toBe(base);
    expect(podChecksum(desiredState(model, { referenced, existingGenerated: undefined, random: fixed('b') }))).not.toBe(base);
    const changed = referenced.map((r, i) => (i === 0 ? { ...r, value: 'v2' } : r));
    expect(podChecksum(desiredState(model, { referenced: changed, existingGenerated: undefined, random: fixed('a') }))).not.toBe(base);
  });
});
