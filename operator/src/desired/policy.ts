// Availability and scaling policy: PodDisruptionBudget and HPA.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels } from './labels.js';
import type { RelayModel } from './model.js';

/** CONNECTIONS_METRIC is the relay gauge the HPA averages per pod (custom metrics adapter). */
export const CONNECTIONS_METRIC = 'relay_connections_total';

/** desiredPdb is the PodDisruptionBudget, or undefined when disabled or only one pod can run. */
export function desiredPdb(m: RelayModel): KubeObject | undefined {
  const pdb = m.spec.podDisruptionBudget;
  const canHaveMany = m.autoscaling || (m.replicas ?? 1) > 1;
  if (!(pdb?.enabled ?? canHaveMany)) return undefined;
  const budget =
    pdb?.minAvailable !== undefined ? { minAvailable: pdb.minAvailable } : { maxUnavailable: pdb?.maxUnavailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: { ...budget, selector: { matchLabels: selectorLabels(m, 'relay') }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  };
}

/** desiredHpa is the autoscaling/v2 HorizontalPodAutoscaler on the relay workload. */
export function desiredHpa(m: RelayModel): KubeObject | undefined {
  const as = m.spec.autoscaling;
  if (as === undefined) return undefined;
  const metrics: Record<string, unknown>[] = [];
  if (as.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: as.targetCPUUtilizationPercentage } },
    });
  }
  if (as.targetConnectionsPerPod !== undefined) {
    metrics.push({
      type: 'Pods',
      pods: {
        metric: { name: CONNECTIONS_METRIC },
        target: { type: 'AverageValue', averageValue: String(as.targetConnectionsPerPod) },
      },
    });
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: m.pinned ? 'StatefulSet' : 'Deployment', name: m.names.workload },
      minReplicas: as.minReplicas,
      maxReplicas: as.maxReplicas,
      metrics,
      // Scaling down drains WebSockets; do it slowly and one pod at a time.
      behavior: {
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      },
    },
  };
}
