import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED } from '../../test/relays.js';
import { desiredGeneratedSecret, generatedSecretValues } from './secret.js';

const counter = () => {
  let n = 0;
  return () => `random-${++n}`;
};

describe('generated Secret values', () => {
  it.each([
    ['single: admin token only', {}, { 'admin-token': 'random-1' }],
    ['admin disabled: nothing', { admin: { enabled: false } }, {}],
    ['managed redis: token, bus key, redis password', { backplane: REDIS_MANAGED }, { 'admin-token': 'random-1', 'bus-hmac-key': 'random-2', 'redis-password': 'random-3' }],
    [
      'user-provided token and bus key: nothing generated',
      { admin: { tokenSecretRef: { name: 'a', key: 't' } }, backplane: { mode: 'server', busHmacKeySecretRef: { name: 'b', key: 'k' } } },
      {},
    ],
  ])('%s', (_name, spec, expected) => {
    expect(generatedSecretValues(modelOf(spec), undefined, counter())).toEqual(expected);
  });

  it('keeps existing values and fills only missing or empty ones', () => {
    const values = generatedSecretValues(modelOf({ backplane: REDIS_MANAGED }), { 'admin-token': 'kept', 'bus-hmac-key': '' }, counter());
    expect(values).toEqual({ 'admin-token': 'kept', 'bus-hmac-key': 'random-1', 'redis-password': 'random-2' });
  });

  it('drops keys the relay no longer uses', () => {
    expect(generatedSecretValues(modelOf(), { 'admin-token': 'kept', 'redis-password': 'old' }, counter())).toEqual({ 'admin-token': 'kept' });
  });

  it('builds the Secret with base64 data', () => {
    expect(desiredGeneratedSecret(modelOf(), { 'admin-token': 'abc' })).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'relay-generated', namespace: 'viewport', labels: LABELS },
      type: 'Opaque',
      data: { 'admin-token': 'YWJj' },
    });
  });
});
