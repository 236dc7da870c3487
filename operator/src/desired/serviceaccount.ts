// The relay pods' ServiceAccount: no API access, token not mounted.
import type { KubeObject } from '../object.js';
import { childLabels } from './labels.js';
import type { RelayModel } from './model.js';

/** desiredServiceAccount is the relay's own identity (needed for pod-level policies, never for API calls). */
export function desiredServiceAccount(m: RelayModel): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    automountServiceAccountToken: false,
  };
}
