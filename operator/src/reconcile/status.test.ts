import { describe, expect, it } from 'vitest';
import type { ViewportRelayStatus } from '../../src/api/v1alpha1/status.js';
import type { KubeObject } from '../object.js';
import { exposureOf, failedCreateEvent, podFailures, replicaFailure, type PodFailure } from './facts.js';
import { computeStatus, conditionOf, FAILING_PODS_DEADLINE_MS, type StatusInput } from './status.js';

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
    // A paused relay never reconciled has no generation to report.
    for (const c of s.conditions ?? []) expect(c.observedGeneration).toBe(over.paused ? undefined : 4);
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

  it('paused keeps the last Ready status and, on every condition, the last reconciled generation, and says Paused', () => {
    const previous: ViewportRelayStatus = computeStatus(input({ generation: 3 }));
    const s = computeStatus(input({ paused: true, previous, generation: 5, workload: undefined }));
    expect(s.paused).toBe(true);
    expect(s.observedGeneration).toBe(3);
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Paused', observedGeneration: 3 });
    expect(conditionOf(s, 'Ready')!.message).toContain('last reconciled state: Ready: 3/3 replicas ready');
    for (const c of s.conditions ?? []) expect(c.observedGeneration).toBe(3);
    expect(s.replicas).toBe(3);
    // Still paused a pass later: nothing moves, the message does not nest.
    const again = computeStatus(input({ paused: true, previous: s, generation: 6, workload: undefined, now: new Date('2026-02-01T12:00:00.000Z') }));
    expect(again.conditions).toEqual(s.conditions);
  });
});

const pod = (name: string, status: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, status });
const waiting = (reason: string, message = '') => ({ containerStatuses: [{ name: 'relay', state: { waiting: { reason, message } } }] });
const starting = deployment(3, { observedGeneration: 2, replicas: 1, readyReplicas: 0, updatedReplicas: 1 });

describe('computeStatus says why pods do not come up', () => {
  const failing = (f: PodFailure[], over: Partial<StatusInput> = {}) => computeStatus(input({ workload: starting, podFailures: f, ...over }));
  const fmt = (s: ViewportRelayStatus) => (['Ready', 'Reconciling', 'Stalled'] as const).map((t) => `${conditionOf(s, t)!.status}/${conditionOf(s, t)!.reason}`);

  it.each([
    ['FailedCreate stalls', podFailures([]).concat(replicaFailure(deployment(3, { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "relay-x" is forbidden: no PriorityClass with name viewport-critical was found' }] }))!), ['False/FailedCreate', 'False/FailedCreate', 'True/FailedCreate'], 'no PriorityClass with name viewport-critical'],
    ['an image pull back-off waits', podFailures([pod('relay-a', waiting('ImagePullBackOff', 'Back-off pulling image "x"'))]), ['False/ImagePullFailed', 'True/ImagePullFailed', 'False/Reconciled'], 'pod relay-a: container relay: ImagePullBackOff: Back-off pulling image "x"'],
    ['an invalid image name stalls', podFailures([pod('relay-a', waiting('InvalidImageName'))]), ['False/ImagePullFailed', 'False/ImagePullFailed', 'True/ImagePullFailed'], 'InvalidImageName'],
    ['a crash loop waits', podFailures([pod('relay-a', waiting('CrashLoopBackOff'))]), ['False/CrashLoopBackOff', 'True/CrashLoopBackOff', 'False/Reconciled'], 'CrashLoopBackOff'],
    ['an unschedulable pod waits', podFailures([pod('relay-a', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] })]), ['False/Unschedulable', 'True/Unschedulable', 'False/Reconciled'], '0/1 nodes are available'],
  ])('%s', (_name, failures, want, message) => {
    const s = failing(failures);
    expect(fmt(s)).toEqual(want);
    expect(conditionOf(s, 'Ready')!.message).toContain(message);
  });

  it('pods failing past the deadline stall the relay (a StatefulSet has no deadline of its own)', () => {
    const f = podFailures([pod('relay-0', waiting('CrashLoopBackOff'))]);
    const first = failing(f);
    const later = failing(f, { previous: first, now: new Date(NOW.getTime() + FAILING_PODS_DEADLINE_MS) });
    expect(fmt(later)).toEqual(['False/RolloutStalled', 'False/RolloutStalled', 'True/RolloutStalled']);
    expect(conditionOf(later, 'Stalled')!.message).toContain('CrashLoopBackOff');
  });

  it('a StatefulSet short of pods with a recent FailedCreate Event stalls; an old Event does not count', () => {
    const sts: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'relay' }, spec: { replicas: 3 }, status: { replicas: 0 } };
    const event = (at: Date): KubeObject => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, reason: 'FailedCreate', message: 'create Pod relay-0 failed', lastTimestamp: at.toISOString() });
    expect(failedCreateEvent(sts, [event(NOW)], NOW.getTime())).toMatchObject({ kind: 'FailedCreate', message: 'create Pod relay-0 failed' });
    expect(failedCreateEvent(sts, [event(new Date(NOW.getTime() - 3_600_000))], NOW.getTime())).toBeUndefined();
    expect(failedCreateEvent({ ...sts, status: { replicas: 3 } }, [event(NOW)], NOW.getTime())).toBeUndefined();
  });
});

describe('computeStatus and exposure', () => {
  const exposed = (children: KubeObject[]) => computeStatus(input({ exposureConfigured: true, exposure: exposureOf(children) }));
  const ingress = (status: Record<string, unknown>): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'relay' }, spec: { ingressClassName: 'nginx' }, status });
  const route = (parents: unknown[]): KubeObject => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'relay' }, spec: { parentRefs: [{ name: 'public' }] }, status: { parents } });
  const cond = (type: string, status: string, reason = type) => ({ type, status, reason, message: `${type} ${status}` });

  it.each([
    ['an Ingress with an address', [ingress({ loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } })], 'True/Exposed', 'True/Ready'],
    ['an Ingress without an address', [ingress({})], 'False/ExposurePending', 'False/ExposurePending'],
    ['no exposure child yet', [], 'False/ExposurePending', 'False/ExposurePending'],
    ['an accepted route', [route([{ parentRef: { name: 'public' }, conditions: [cond('Accepted', 'True'), cond('ResolvedRefs', 'True')] }])], 'True/Exposed', 'True/Ready'],
    ['a route the gateway has not seen', [route([])], 'False/ExposurePending', 'False/ExposurePending'],
    ['a refused route', [route([{ parentRef: { name: 'public' }, conditions: [cond('Accepted', 'False', 'NotAllowedByListeners')] }])], 'False/ExposureRejected', 'False/ExposureRejected'],
    ['unresolved backends', [route([{ parentRef: { name: 'public' }, conditions: [cond('Accepted', 'True'), cond('ResolvedRefs', 'False', 'BackendNotFound')] }])], 'False/ExposureRejected', 'False/ExposureRejected'],
    [
      'a certificate not issued yet',
      [route([{ parentRef: { name: 'public' }, conditions: [cond('Accepted', 'True'), cond('ResolvedRefs', 'True')] }]), { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'relay' }, status: { conditions: [cond('Ready', 'False', 'Issuing')] } }],
      'False/ExposurePending',
      'False/ExposurePending',
    ],
  ])('%s', (_name, children, want, ready) => {
    const s = exposed(children as KubeObject[]);
    const e = conditionOf(s, 'Exposed')!;
    expect(`${e.status}/${e.reason}`).toBe(want);
    expect(`${conditionOf(s, 'Ready')!.status}/${conditionOf(s, 'Ready')!.reason}`).toBe(ready);
    if (want.includes('Rejected')) expect(conditionOf(s, 'Stalled')!.status).toBe('True');
  });

  it('has no Exposed condition when nothing is exposed', () => {
    expect(conditionOf(computeStatus(input({})), 'Exposed')).toBeUndefined();
  });
});
