import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED, SELECTOR } from '../../test/relays.js';
import { desiredRedisService } from './redis.js';
import { desiredHeadlessService, desiredPodServices, desiredService } from './service.js';
import { desiredServiceAccount } from './serviceaccount.js';

const ws = { name: 'ws', port: 7781, targetPort: 'ws', protocol: 'TCP' };
const pinned = {
  backplane: REDIS_MANAGED,
  replicas: 2,
  routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' },
  exposure: { host: 'relay.example.com', ingress: {} },
};

describe('service builders', () => {
  it.each([
    [
      'ServiceAccount',
      desiredServiceAccount(modelOf()),
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'relay', namespace: 'viewport', labels: LABELS }, automountServiceAccountToken: false },
    ],
    [
      'main Service (redis mode: the peer-link port stays off every Service)',
      desiredService(modelOf({ backplane: REDIS_MANAGED, replicas: 2 })),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'relay', namespace: 'viewport', labels: { ...LABELS, 'relay.getviewport.com/service': 'main' } },
        spec: { type: 'ClusterIP', selector: SELECTOR, ports: [ws] },
      },
    ],
    [
      'headless Service',
      desiredHeadlessService(modelOf(pinned)),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'relay-pods', namespace: 'viewport', labels: { ...LABELS, 'relay.getviewport.com/service': 'headless' } },
        spec: { clusterIP: 'None', selector: SELECTOR, ports: [ws] },
      },
    ],
    [
      'managed Redis Service',
      desiredRedisService(modelOf({ backplane: REDIS_MANAGED })),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'relay-redis',
          namespace: 'viewport',
          labels: {
            ...LABELS,
            'app.kubernetes.io/name': 'viewport-relay-redis',
            'app.kubernetes.io/component': 'redis',
          },
        },
        spec: {
          type: 'ClusterIP',
          selector: { 'app.kubernetes.io/name': 'viewport-relay-redis', 'app.kubernetes.io/instance': 'relay', 'app.kubernetes.io/component': 'redis' },
          ports: [{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }],
        },
      },
    ],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('per-pod Services select exactly one StatefulSet pod each', () => {
    expect(desiredPodServices(modelOf(pinned))).toEqual(
      ['relay-0', 'relay-1'].map((pod) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: pod, namespace: 'viewport', labels: { ...LABELS, 'relay.getviewport.com/service': 'pod' } },
        spec: { type: 'ClusterIP', selector: { ...SELECTOR, 'statefulset.kubernetes.io/pod-name': pod }, ports: [ws] },
      })),
    );
  });

  it('sizes per-pod Services for the autoscaling maximum, so scaling never rewrites them', () => {
    const { replicas: _r, ...rest } = pinned;
    const m = modelOf({ ...rest, autoscaling: { minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 60 } });
    expect(desiredPodServices(m).map((s) => s.metadata.name)).toEqual(['relay-0', 'relay-1', 'relay-2', 'relay-3']);
  });
});
