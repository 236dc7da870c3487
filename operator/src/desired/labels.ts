// Labels and annotation keys on children. Children never copy the CR's own
// labels: Argo CD's tracking label would make them look like app resources.
import { API_GROUP, FIELD_MANAGER } from '../api/v1alpha1/group.js';
import type { RelayModel } from './model.js';

/** RELAY_LABEL carries the owning ViewportRelay's name on every child (watch → queue key). */
export const RELAY_LABEL = `${API_GROUP}/relay`;
/** MANAGED_BY_SELECTOR selects every child of this operator, cluster-wide. */
export const MANAGED_BY_SELECTOR = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;
/** SPEC_HASH_ANNOTATION holds the hash of the last applied desired object. */
export const SPEC_HASH_ANNOTATION = `${API_GROUP}/spec-hash`;
/** SECRETS_CHECKSUM_ANNOTATION on the pod template rolls pods when a used Secret changes. */
export const SECRETS_CHECKSUM_ANNOTATION = `${API_GROUP}/secrets-checksum`;
/** SERVICE_ROLE_LABEL tells the main Service apart from headless and per-pod Services. */
export const SERVICE_ROLE_LABEL = `${API_GROUP}/service`;

/** Component is the part of a relay deployment a child belongs to. */
export type Component = 'relay' | 'redis';

/** selectorLabels are the immutable labels a workload selects its pods by. */
export function selectorLabels(m: RelayModel, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': component === 'relay' ? 'viewport-relay' : 'viewport-relay-redis',
    'app.kubernetes.io/instance': m.name,
    'app.kubernetes.io/component': component,
  };
}

/** childLabels are set on every child's metadata. */
export function childLabels(m: RelayModel, component: Component): Record<string, string> {
  return {
    ...selectorLabels(m, component),
    'app.kubernetes.io/part-of': 'viewport',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    [RELAY_LABEL]: m.name,
  };
}

/** selectorString renders labels as a label selector ("a=b,c=d"), as status.selector needs. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
