import { describe, expect, it } from 'vitest';
import { FIELD_MANAGER } from '../api/v1alpha1/group.js';
import type { KubeObject, ManagedFieldsEntry } from '../object.js';
import { isUpToDate, ownsReplicas, planChildren, replicasHandoff } from './apply.js';

const deployment = (spec: Record<string, unknown>, managedFields?: ManagedFieldsEntry[]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'relay', namespace: 'viewport', ...(managedFields ? { managedFields } : {}) },
  spec,
});
const ours = (fields: Record<string, unknown>, manager = FIELD_MANAGER, operation = 'Apply'): ManagedFieldsEntry => ({
  manager,
  operation,
  fieldsV1: { 'f:spec': fields },
});

describe('replicasHandoff', () => {
  const autoscaled = deployment({ template: {} });

  it.each([
    ['the operator applied replicas and now leaves them out', autoscaled, deployment({ replicas: 3 }, [ours({ 'f:replicas': {} })]), 3],
    ['the desired object still sets replicas', deployment({ replicas: 2 }), deployment({ replicas: 3 }, [ours({ 'f:replicas': {} })]), undefined],
    ['the workload does not exist yet', autoscaled, undefined, undefined],
    ['the operator never owned replicas', autoscaled, deployment({ replicas: 3 }, [ours({ 'f:template': {} })]), undefined],
    ['only the autoscaler owns replicas', autoscaled, deployment({ replicas: 5 }, [ours({ 'f:replicas': {} }, 'kube-controller-manager', 'Update')]), undefined],
    ['another applier owns replicas', autoscaled, deployment({ replicas: 5 }, [ours({ 'f:replicas': {} }, 'kubectl')]), undefined],
  ])('%s', (_name, desired, observed, want) => {
    const handoff = replicasHandoff(desired, observed);
    if (want === undefined) expect(handoff).toBeUndefined();
    else expect(handoff).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'relay', namespace: 'viewport' }, spec: { replicas: want } });
  });

  it('ownsReplicas ignores a status-subresource entry of the same manager', () => {
    expect(ownsReplicas(deployment({}, [{ ...ours({ 'f:replicas': {} }), subresource: 'status' }]))).toBe(false);
  });
});

describe('planChildren', () => {
  const hashed = (image: string, hash = 'h1'): KubeObject => ({
    ...deployment({ template: { spec: { containers: [{ name: 'relay', image }] } } }),
    metadata: { name: 'relay', namespace: 'viewport', annotations: { 'relay.getviewport.com/spec-hash': hash } },
  });
  const live = (o: KubeObject) => new Map([['apps/v1/Deployment/viewport/relay', o]]);

  it('applies nothing when the live child carries the hash and every applied field (even after a restart: no memory needed)', () => {
    expect(isUpToDate(hashed('a'), hashed('a'))).toBe(true);
    expect(planChildren([hashed('a')], live(hashed('a')))).toEqual({ apply: [], prune: [] });
  });

  it('re-applies on an edited field even when the hash still matches, and on a new hash', () => {
    expect(planChildren([hashed('a')], live(hashed('evil'))).apply).toHaveLength(1);
    expect(planChildren([hashed('a', 'h2')], live(hashed('a'))).apply).toHaveLength(1);
  });
});
