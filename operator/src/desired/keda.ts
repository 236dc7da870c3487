// KEDA ScaledObject: autoscaling on connections per pod through KEDA when
// spec.autoscaling.keda is set. KEDA creates and owns the relay's HPA, so the
// operator builds none (desiredHpa) and leaves replicas to it, as with its own.
import type { KubeObject } from '../object.js';
import { childLabels } from './labels.js';
import type { RelayModel } from './model.js';
import { CONNECTIONS_METRIC, SCALE_DOWN_BEHAVIOR, scaleTargetRef } from './policy.js';

/** desiredScaledObject is the keda.sh/v1alpha1 ScaledObject, or undefined without autoscaling.keda. */
export function desiredScaledObject(m: RelayModel): KubeObject | undefined {
  const as = m.spec.autoscaling;
  if (as?.keda === undefined) return undefined;
  const triggers: Record<string, unknown>[] = [];
  if (as.targetConnectionsPerPod !== undefined) {
    triggers.push({
      type: 'prometheus',
      metadata: {
        serverAddress: as.keda.prometheusServerAddress,
        // The scrape through the relay's ServiceMonitor labels its series with the main Service's name.
        query: `sum(${CONNECTIONS_METRIC}{namespace="${m.namespace}",service="${m.names.service}"})`,
        // KEDA divides the query's value by this: the average connections per pod it aims for.
        threshold: String(as.targetConnectionsPerPod),
      },
    });
  }
  if (as.targetCPUUtilizationPercentage !== undefined) {
    triggers.push({ type: 'cpu', metricType: 'Utilization', metadata: { value: String(as.targetCPUUtilizationPercentage) } });
  }
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      scaleTargetRef: scaleTargetRef(m),
      minReplicaCount: as.minReplicas,
      maxReplicaCount: as.maxReplicas,
      advanced: { horizontalPodAutoscalerConfig: { behavior: SCALE_DOWN_BEHAVIOR } },
      triggers,
    },
  };
}
