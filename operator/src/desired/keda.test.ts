import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED } from '../../test/relays.js';
import { desiredChildren } from './index.js';
import { desiredScaledObject } from './keda.js';
import { desiredHpa } from './policy.js';

const keda = { prometheusServerAddress: 'http://prometheus-operated.monitoring.svc:9090' };
const autoscaling = { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70, targetConnectionsPerPod: 500 };

describe('KEDA ScaledObject', () => {
  it('scales the Deployment on the relay Service\'s connections and CPU, down slowly, and replaces the HPA', () => {
    const m = modelOf({ backplane: REDIS_MANAGED, autoscaling: { ...autoscaling, keda } });
    expect(desiredHpa(m)).toBeUndefined();
    expect(desiredScaledObject(m)).toEqual({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'relay', namespace: 'viewport', labels: LABELS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'relay' },
        minReplicaCount: 2,
        maxReplicaCount: 6,
        advanced: {
          horizontalPodAutoscalerConfig: {
            behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
          },
        },
        triggers: [
          {
            type: 'prometheus',
            metadata: {
              serverAddress: keda.prometheusServerAddress,
              query: 'sum(relay_connections_total{namespace="viewport",service="relay"})',
              threshold: '500',
            },
          },
          { type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } },
        ],
      },
    });
  });

  it('leaves the replica count to KEDA, as to the operator\'s own HPA', () => {
    const children = desiredChildren({ model: modelOf({ backplane: REDIS_MANAGED, autoscaling: { ...autoscaling, keda } }), generated: {}, secretsChecksum: 'x' });
    const workload = children.find((c) => c.kind === 'Deployment' && c.metadata.name === 'relay')!;
    expect(workload.spec).not.toHaveProperty('replicas');
    expect(children.map((c) => c.kind)).toContain('ScaledObject');
    expect(children.map((c) => c.kind)).not.toContain('HorizontalPodAutoscaler');
  });

  it('is absent without autoscaling.keda', () => {
    expect(desiredScaledObject(modelOf({ backplane: REDIS_MANAGED, autoscaling }))).toBeUndefined();
    expect(desiredScaledObject(modelOf())).toBeUndefined();
  });
});

describe('HorizontalPodAutoscaler on an External connections metric', () => {
  it('selects the relay Service\'s series in the external metrics API', () => {
    const hpa = desiredHpa(modelOf({ backplane: REDIS_MANAGED, autoscaling: { minReplicas: 1, maxReplicas: 4, targetConnectionsPerPod: 300, connectionsMetric: 'External' } }));
    expect((hpa!.spec as { metrics: unknown[] }).metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: 'relay_connections_total', selector: { matchLabels: { service: 'relay' } } },
          target: { type: 'AverageValue', averageValue: '300' },
        },
      },
    ]);
  });
});
