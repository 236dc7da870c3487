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

/** SCALE_DOWN_BEHAVIOR: scaling down drains WebSockets; do it slowly and one pod at a time. */
export const SCALE_DOWN_BEHAVIOR = {
  scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
};

/** scaleTargetRef names the relay workload for an autoscaler (the HPA, or KEDA's ScaledObject). */
export function scaleTargetRef(m: RelayModel): Record<string, string> {
  return { apiVersion: 'apps/v1', kind: m.pinned ? 'StatefulSet' : 'Deployment', name: m.names.workload };
}

/** desiredHpa is the autoscaling/v2 HorizontalPodAutoscaler on the relay workload; none when KEDA scales it. */
export function desiredHpa(m: RelayModel): KubeObject | undefined {
  const as = m.spec.autoscaling;
  if (as === undefined || as.keda !== undefined) return undefined;
  const metrics: Record<string, unknown>[] = [];
  if (as.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: as.targetCPUUtilizationPercentage } },
    });
  }
  if (as.targetConnectionsPerPod !== undefined) {
    const target = { type: 'AverageValue', averageValue: String(as.targetConnectionsPerPod) };
    metrics.push(
      as.connectionsMetric === 'External'
        ? // External metrics are asked for in the HPA's namespace; the Service label picks this relay's pods.
          { type: 'External', external: { metric: { name: CONNECTIONS_METRIC, selector: { matchLabels: { service: m.names.service } } }, target } }
        : { type: 'Pods', pods: { metric: { name: CONNECTIONS_METRIC }, target } },
    );
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      scaleTargetRef: scaleTargetRef(m),
      minReplicas: as.minReplicas,
      maxReplicas: as.maxReplicas,
      metrics,
      behavior: SCALE_DOWN_BEHAVIOR,
    },
  };
}
