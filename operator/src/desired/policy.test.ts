import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED, SELECTOR } from '../../test/relays.js';
import { desiredRelayNetworkPolicy, desiredRedisNetworkPolicy } from './network.js';
import { desiredHpa, desiredPdb } from './policy.js';
import { desiredServiceMonitor } from './servicemonitor.js';

const meta = { name: 'relay', namespace: 'viewport', labels: LABELS };
const autoscaling = { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70, targetConnectionsPerPod: 500 };
const redisSelector = { 'app.kubernetes.io/name': 'viewport-relay-redis', 'app.kubernetes.io/instance': 'relay', 'app.kubernetes.io/component': 'redis' };

describe('PodDisruptionBudget', () => {
  it.each([
    ['single replica: none', {}, undefined],
    ['several replicas: maxUnavailable 1', { backplane: REDIS_MANAGED, replicas: 3 }, { maxUnavailable: 1 }],
    ['explicit minAvailable', { backplane: REDIS_MANAGED, replicas: 3, podDisruptionBudget: { minAvailable: '50%' } }, { minAvailable: '50%' }],
    ['disabled', { backplane: REDIS_MANAGED, replicas: 3, podDisruptionBudget: { enabled: false } }, undefined],
    ['forced on for one replica', { podDisruptionBudget: { enabled: true, maxUnavailable: 0 } }, { maxUnavailable: 0 }],
  ])('%s', (_name, spec, budget) => {
    const pdb = desiredPdb(modelOf(spec));
    if (budget === undefined) return expect(pdb).toBeUndefined();
    expect(pdb).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta,
      spec: { ...budget, selector: { matchLabels: SELECTOR }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    });
  });
});

describe('HorizontalPodAutoscaler', () => {
  it('targets the Deployment with CPU and connection metrics, scaling down slowly', () => {
    expect(desiredHpa(modelOf({ backplane: REDIS_MANAGED, autoscaling }))).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta,
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'relay' },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
          { type: 'Pods', pods: { metric: { name: 'relay_connections_total' }, target: { type: 'AverageValue', averageValue: '500' } } },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
      },
    });
  });

  it('targets the StatefulSet in pinned routing', () => {
    const m = modelOf({
      backplane: REDIS_MANAGED,
      autoscaling,
      routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' },
      exposure: { host: 'r.example.com', ingress: {} },
    });
    expect((desiredHpa(m)!.spec as { scaleTargetRef: unknown }).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'relay' });
  });

  it('is absent without autoscaling', () => {
    expect(desiredHpa(modelOf())).toBeUndefined();
  });
});

describe('NetworkPolicy', () => {
  it('relay: in-cluster peers only by default', () => {
    expect(desiredRelayNetworkPolicy(modelOf({ networkPolicy: { enabled: true } }))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta,
      spec: {
        podSelector: { matchLabels: SELECTOR },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 7781 }] }],
      },
    });
  });

  it('relay in redis mode: the peer-link port only from this relay’s own pods', () => {
    const np = desiredRelayNetworkPolicy(modelOf({ backplane: { ...REDIS_MANAGED, peerLinks: { port: 9000 } }, replicas: 2, networkPolicy: { enabled: true } }));
    expect((np!.spec as { ingress: unknown }).ingress).toEqual([
      { from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 7781 }] },
      { from: [{ podSelector: { matchLabels: SELECTOR } }], ports: [{ protocol: 'TCP', port: 9000 }] },
    ]);
  });

  it('relay in redis mode with peer links off: no peer-link rule', () => {
    const np = desiredRelayNetworkPolicy(modelOf({ backplane: { ...REDIS_MANAGED, peerLinks: { enabled: false } }, networkPolicy: { enabled: true } }));
    expect((np!.spec as { ingress: unknown[] }).ingress).toEqual([{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 7781 }] }]);
  });

  it('relay: the listed peers when given', () => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gw' } } }];
    const np = desiredRelayNetworkPolicy(modelOf({ networkPolicy: { enabled: true, ingressFrom: from } }));
    expect((np!.spec as { ingress: { from: unknown }[] }).ingress[0]!.from).toEqual(from);
  });

  it('redis: only this relay’s pods', () => {
    expect(desiredRedisNetworkPolicy(modelOf({ backplane: REDIS_MANAGED, networkPolicy: { enabled: true } }))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'relay-redis',
        namespace: 'viewport',
        labels: { ...LABELS, 'app.kubernetes.io/name': 'viewport-relay-redis', 'app.kubernetes.io/component': 'redis' },
      },
      spec: {
        podSelector: { matchLabels: redisSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: SELECTOR } }], ports: [{ protocol: 'TCP', port: 6379 }] }],
      },
    });
  });

  it.each([
    ['disabled', { backplane: REDIS_MANAGED, networkPolicy: { enabled: false } }],
    ['no managed redis', { networkPolicy: { enabled: true } }],
  ])('redis policy absent: %s', (_name, spec) => {
    expect(desiredRedisNetworkPolicy(modelOf(spec))).toBeUndefined();
  });

  it('is on by default: without a networkPolicy field both policies exist, the same as enabled: true', () => {
    const spec = { backplane: REDIS_MANAGED, replicas: 2 };
    expect(desiredRelayNetworkPolicy(modelOf(spec))).toEqual(desiredRelayNetworkPolicy(modelOf({ ...spec, networkPolicy: { enabled: true } })));
    expect(desiredRedisNetworkPolicy(modelOf(spec))).toEqual(desiredRedisNetworkPolicy(modelOf({ ...spec, networkPolicy: { enabled: true } })));
    expect(desiredRelayNetworkPolicy(modelOf(spec))).toBeDefined();
    expect(desiredRedisNetworkPolicy(modelOf(spec))).toBeDefined();
  });

  it('enabled: false opts out of both policies', () => {
    const spec = { backplane: REDIS_MANAGED, networkPolicy: { enabled: false } };
    expect(desiredRelayNetworkPolicy(modelOf(spec))).toBeUndefined();
    expect(desiredRedisNetworkPolicy(modelOf(spec))).toBeUndefined();
  });

  it('relay with ingressFrom: metrics scrapers from the monitoring namespace by default, in a rule of their own', () => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }];
    const np = desiredRelayNetworkPolicy(modelOf({ networkPolicy: { ingressFrom: from } }));
    expect((np!.spec as { ingress: unknown }).ingress).toEqual([
      { from, ports: [{ protocol: 'TCP', port: 7781 }] },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 7781 }] },
    ]);
  });

  it('relay with ingressFrom and metricsFrom: the given scrapers; an empty list adds none', () => {
    const from = [{ podSelector: { matchLabels: { app: 'gw' } } }];
    const metricsFrom = [{ namespaceSelector: { matchLabels: { team: 'obs' } }, podSelector: { matchLabels: { app: 'prometheus' } } }];
    const np = desiredRelayNetworkPolicy(modelOf({ networkPolicy: { ingressFrom: from, metricsFrom } }));
    expect((np!.spec as { ingress: { from: unknown }[] }).ingress.map((r) => r.from)).toEqual([from, metricsFrom]);
    const none = desiredRelayNetworkPolicy(modelOf({ networkPolicy: { ingressFrom: from, metricsFrom: [] } }));
    expect((none!.spec as { ingress: { from: unknown }[] }).ingress.map((r) => r.from)).toEqual([from]);
  });
});

describe('ServiceMonitor', () => {
  it('scrapes the main Service with the generated admin token', () => {
    expect(desiredServiceMonitor(modelOf({ serviceMonitor: { enabled: true, labels: { release: 'prom' } } }))).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { ...meta, labels: { release: 'prom', ...LABELS } },
      spec: {
        selector: { matchLabels: { ...SELECTOR, 'relay.getviewport.com/service': 'main' } },
        endpoints: [
          {
            port: 'ws',
            path: '/metrics',
            interval: '30s',
            authorization: { type: 'Bearer', credentials: { name: 'relay-generated', key: 'admin-token' } },
          },
        ],
      },
    });
  });

  it('is absent when disabled', () => {
    expect(desiredServiceMonitor(modelOf({ serviceMonitor: { enabled: false } }))).toBeUndefined();
  });
});
