import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { expandReferences, fieldValue, resolveContainerEnv, type EnvLookups } from './env.js';

const pod: V1Pod = {
  metadata: { name: 'relay-0', namespace: 'ns', uid: 'u-1', labels: { app: 'relay' }, annotations: { note: 'hi' } },
  spec: { nodeName: 'local-runner', serviceAccountName: 'relay', containers: [] },
};
const lookups: EnvLookups = {
  secretValue: (name, key) => (name === 'gen' && key === 'pw' ? 's3cret' : undefined),
  configMapValue: (name, key) => (name === 'cfg' && key === 'mode' ? 'staging' : undefined),
};
const resolve = (env: V1Container['env']) => resolveContainerEnv(pod, { name: 'c', env }, '127.1.2.3', lookups);

describe('fieldValue', () => {
  it.each([
    ['metadata.name', 'relay-0'],
    ['metadata.namespace', 'ns'],
    ['metadata.uid', 'u-1'],
    ['spec.nodeName', 'local-runner'],
    ['spec.serviceAccountName', 'relay'],
    ['status.podIP', '127.1.2.3'],
    ["metadata.labels['app']", 'relay'],
    ["metadata.annotations['note']", 'hi'],
    ['status.hostIP.unknown', undefined],
  ])('%s', (path, expected) => {
    expect(fieldValue(pod, path, '127.1.2.3')).toBe(expected);
  });
});

describe('expandReferences', () => {
  it.each([
    ['defined name', 'redis://:$(PW)@host', 'redis://:pw@host'],
    ['unknown name stays', 'x$(NOPE)y', 'x$(NOPE)y'],
    ['$$ escapes', '$$(PW)', '$(PW)'],
    ['no references', 'plain', 'plain'],
  ])('%s', (_name, text, expected) => {
    expect(expandReferences(text, { PW: 'pw' })).toBe(expected);
  });
});

describe('resolveContainerEnv', () => {
  it('resolves values, references and $(VAR) in declaration order', () => {
    expect(
      resolve([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'gen', key: 'pw' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
        { name: 'URL', value: 'redis://:$(PW)@$(POD_NAME):$(LATER)' },
        { name: 'LATER', value: '1' },
      ]),
    ).toEqual({
      ok: true,
      env: { POD_NAME: 'relay-0', PW: 's3cret', MODE: 'staging', URL: 'redis://:s3cret@relay-0:$(LATER)', LATER: '1' },
    });
  });

  it.each([
    ['missing secret key', { name: 'X', valueFrom: { secretKeyRef: { name: 'gen', key: 'nope' } } }, 'env X: secret gen key nope not found'],
    ['missing configmap', { name: 'X', valueFrom: { configMapKeyRef: { name: 'other', key: 'mode' } } }, 'env X: configmap other key mode not found'],
    ['unknown field', { name: 'X', valueFrom: { fieldRef: { fieldPath: 'status.phase' } } }, 'env X: field status.phase not found'],
    ['unsupported source', { name: 'X', valueFrom: {} }, 'env X: unsupported valueFrom'],
  ])('%s is an error naming the reference, never a value', (_name, entry, error) => {
    expect(resolve([entry])).toEqual({ ok: false, error });
  });

  it('skips optional references that are absent', () => {
    expect(resolve([{ name: 'X', valueFrom: { secretKeyRef: { name: 'gen', key: 'nope', optional: true } } }])).toEqual({ ok: true, env: {} });
  });
});
