// Prometheus Operator ServiceMonitor: scrapes the relay's /metrics on the main
// Service with the admin bearer token.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels, SERVICE_ROLE_LABEL } from './labels.js';
import type { RelayModel } from './model.js';

/** desiredServiceMonitor is the ServiceMonitor, or undefined when disabled. */
export function desiredServiceMonitor(m: RelayModel): KubeObject | undefined {
  const sm = m.spec.serviceMonitor;
  if (!sm?.enabled || m.adminTokenRef === undefined) return undefined;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: m.name, namespace: m.namespace, labels: { ...(sm.labels ?? {}), ...childLabels(m, 'relay') } },
    spec: {
      // Only the main Service: per-pod Services would scrape each pod twice.
      selector: { matchLabels: { ...selectorLabels(m, 'relay'), [SERVICE_ROLE_LABEL]: 'main' } },
      endpoints: [
        {
          port: 'ws',
          path: '/metrics',
          interval: sm.interval ?? '30s',
          authorization: { type: 'Bearer', credentials: { name: m.adminTokenRef.name, key: m.adminTokenRef.key } },
        },
      ],
    },
  };
}
