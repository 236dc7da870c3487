import { describe, expect, it } from 'vitest';
import type { ViewportRelayStatus } from '../../src/api/v1alpha1/status.js';
import type { KubeObject } from '../object.js';
import { computeStatus, conditionOf, type StatusInput } from './status.js';

const NOW = new Date('2026-02-01T10:00:00.000Z');
const deployment = (spec: number, st: Record<string, unknown>, generation = 2): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'relay', generation },
  spec: { replicas: spec },
  status: st,
});
const healthy = deployment(3, { observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 3 });
const redisReady: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'relay-redis' }, status: { readyReplicas: 1 } };

const input = (over: Partial<StatusInput>): StatusInput => ({
  generation: 4,
  previous: undefined,
  paused: false,
  problem: undefined,
  backplaneMode: 'single',
  endpoint: 'wss://relay.example.com/ws',
  selector: 'app=relay',
  workload: healthy,
  redis: undefined,
  managedRedis: false,
  now: NOW,
  ...over,
});

// [name, input, Ready, Reconciling, Stalled] as "status/reason".
const table: [string, Partial<StatusInput>, string, string, string][] = [
  ['all replicas ready', {}, 'True/Ready', 'False/Reconciled', 'False/Reconciled'],
  ['rolling out', { workload: deployment(3, { observedGeneration: 2, replicas: 4, readyReplicas: 3, updatedReplicas: 1 }) }, 'False/Progressing', 'True/Progressing', 'False/Reconciled'],
  ['workload generation not observed yet', { workload: deployment(3, { observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3 }) }, 'False/Progressing', 'True/Progressing', 'False/Reconciled'],
  ['no workload yet', { workload: undefined }, 'False/Progressing', 'True/Progressing', 'False/Reconciled'],
  [
    'rollout past its deadline',
    { workload: deployment(3, { observedGeneration: 2, replicas: 3, readyReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }) },
    'False/RolloutStalled',
    'False/RolloutStalled',
    'True/RolloutStalled',
  ],
  ['managed redis not ready', { managedRedis: true, backplaneMode: 'redis', redis: undefined }, 'False/BackplaneNotReady', 'True/BackplaneNotReady', 'False/Reconciled'],
  ['managed redis ready', { managedRedis: true, backplaneMode: 'redis', redis: redisReady }, 'True/Ready', 'False/Reconciled', 'False/Reconciled'],
  ['invalid spec', { problem: { reason: 'InvalidSpec', message: 'spec.replicas: bad', stalled: true } }, 'False/InvalidSpec', 'False/InvalidSpec', 'True/InvalidSpec'],
  ['missing secret', { problem: { reason: 'SecretNotFound', message: 'missing', stalled: true } }, 'False/SecretNotFound', 'False/SecretNotFound', 'True/SecretNotFound'],
  ['transient apply failure', { problem: { reason: 'ApplyFailed', message: 'x', stalled: false } }, 'False/ApplyFailed', 'True/ApplyFailed', 'False/Reconciled'],
  ['paused with no history', { paused: true }, 'Unknown/Paused', 'False/Paused', 'False/Paused'],
];

describe('computeStatus conditions', () => {
  it.each(table)('%s', (_name, over, ready, reconciling, stalled) => {
    const s = computeStatus(input(over));
    const fmt = (t: 'Ready' | 'Reconciling' | 'Stalled') => {
      const c = conditionOf(s, t)!;
      return `${c.status}/${c.reason}`;
    };
    expect([fmt('Ready'), fmt('Reconciling'), fmt('Stalled')]).toEqual([ready, reconciling, stalled]);
    for (const c of s.conditions ?? []) expect(c.observedGeneration).toBe(4);
  });
});

describe('computeStatus fields', () => {
  it('reports replicas, selector, endpoint, backplane and generation', () => {
    const s = computeStatus(input({ managedRedis: true, backplaneMode: 'redis', redis: undefined }));
    expect({ ...s, conditions: undefined }).toEqual({
      observedGeneration: 4,
      replicas: 3,
      readyReplicas: 3,
      selector: 'app=relay',
      endpoint: 'wss://relay.example.com/ws',
      backplane: { mode: 'redis', ready: false, message: 'managed Redis is not ready' },
      paused: false,
      conditions: undefined,
    });
  });

  it('keeps lastTransitionTime while a condition keeps its status, moves it on change', () => {
    const first = computeStatus(input({}));
    const later = new Date('2026-02-01T11:00:00.000Z');
    const same = computeStatus(input({ previous: first, now: later }));
    expect(conditionOf(same, 'Ready')!.lastTransitionTime).toBe('2026-02-01T10:00:00Z');
    const changed = computeStatus(input({ previous: first, now: later, workload: undefined }));
    expect(conditionOf(changed, 'Ready')!.lastTransitionTime).toBe('2026-02-01T11:00:00Z');
    expect(conditionOf(changed, 'Stalled')!.lastTransitionTime).toBe('2026-02-01T10:00:00Z');
  });

  it('paused keeps the last Ready and the last observed generation', () => {
    const previous: ViewportRelayStatus = computeStatus(input({ generation: 3 }));
    const s = computeStatus(input({ paused: true, previous, generation: 5, workload: undefined }));
    expect(s.paused).toBe(true);
    expect(s.observedGeneration).toBe(3);
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(s.replicas).toBe(3);
  });
});
