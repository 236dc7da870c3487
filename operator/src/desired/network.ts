// NetworkPolicies: relays accept their port only from the allowed peers;
// managed Redis accepts only relay pods of the same ViewportRelay.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels } from './labels.js';
import { RELAY_PORT, REDIS_PORT, type RelayModel } from './model.js';

/** desiredRelayNetworkPolicy restricts ingress to the relay pods, or undefined when disabled. */
export function desiredRelayNetworkPolicy(m: RelayModel): KubeObject | undefined {
  const np = m.spec.networkPolicy;
  if (!np?.enabled) return undefined;
  // Without an explicit list, allow in-cluster pods only (ingress controllers,
  // gateways, Prometheus) and nothing from outside the cluster network.
  const from = np.ingressFrom ?? [{ namespaceSelector: {} }];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      podSelector: { matchLabels: selectorLabels(m, 'relay') },
      policyTypes: ['Ingress'],
      ingress: [{ from, ports: [{ protocol: 'TCP', port: RELAY_PORT }] }],
    },
  };
}

/** desiredRedisNetworkPolicy lets only this relay's pods reach the managed Redis. */
export function desiredRedisNetworkPolicy(m: RelayModel): KubeObject | undefined {
  if (!m.spec.networkPolicy?.enabled || !m.managedRedis) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: m.names.redis, namespace: m.namespace, labels: childLabels(m, 'redis') },
    spec: {
      podSelector: { matchLabels: selectorLabels(m, 'redis') },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: selectorLabels(m, 'relay') } }],
          ports: [{ protocol: 'TCP', port: REDIS_PORT }],
        },
      ],
    },
  };
}
