// Services in front of the relay: the main ClusterIP Service, and for pinned
// routing a headless Service (StatefulSet identity) plus one Service per pod.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels, SERVICE_ROLE_LABEL } from './labels.js';
import { RELAY_PORT, type RelayModel } from './model.js';

const wsPort = { name: 'ws', port: RELAY_PORT, targetPort: 'ws', protocol: 'TCP' };

/** desiredService is the main relay Service: any ready replica. */
export function desiredService(m: RelayModel): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: m.names.service,
      namespace: m.namespace,
      labels: { ...childLabels(m, 'relay'), [SERVICE_ROLE_LABEL]: 'main' },
    },
    spec: { type: 'ClusterIP', selector: selectorLabels(m, 'relay'), ports: [wsPort] },
  };
}

/** desiredHeadlessService gives StatefulSet pods stable DNS; only in pinned routing. */
export function desiredHeadlessService(m: RelayModel): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: m.names.headless,
      namespace: m.namespace,
      labels: { ...childLabels(m, 'relay'), [SERVICE_ROLE_LABEL]: 'headless' },
    },
    // publishNotReadyAddresses is left at its default (false), which the API server does not store.
    spec: { clusterIP: 'None', selector: selectorLabels(m, 'relay'), ports: [wsPort] },
  };
}

/** desiredPodServices returns one Service per possible pod, so per-pod hosts reach exactly that pod. */
export function desiredPodServices(m: RelayModel): KubeObject[] {
  return m.podNames.map((pod) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: pod,
      namespace: m.namespace,
      labels: { ...childLabels(m, 'relay'), [SERVICE_ROLE_LABEL]: 'pod' },
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...selectorLabels(m, 'relay'), 'statefulset.kubernetes.io/pod-name': pod },
      ports: [wsPort],
    },
  }));
}
