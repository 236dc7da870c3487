// NetworkPolicies: relays accept their port only from the allowed peers and
// their peer-link port only from each other; managed Redis accepts only relay
// pods of the same ViewportRelay.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels } from './labels.js';
import { RELAY_PORT, REDIS_PORT, type RelayModel } from './model.js';

// A NetworkPolicy peer is namespace-local: this selects this ViewportRelay's relay pods, every revision.
const fromOwnRelayPods = (m: RelayModel): Record<string, unknown>[] => [{ podSelector: { matchLabels: selectorLabels(m, 'relay') } }];

/** desiredRelayNetworkPolicy restricts ingress to the relay pods, or undefined when disabled. */
export function desiredRelayNetworkPolicy(m: RelayModel): KubeObject | undefined {
  const np = m.spec.networkPolicy;
  if (!np?.enabled) return undefined;
  // Without an explicit list, allow in-cluster pods only (ingress controllers,
  // gateways, Prometheus) and nothing from outside the cluster network.
  const from = np.ingressFrom ?? [{ namespaceSelector: {} }];
  const ingress: Record<string, unknown>[] = [{ from, ports: [{ protocol: 'TCP', port: RELAY_PORT }] }];
  if (m.peerLinkPort !== undefined) {
    // Peer links carry relay-internal traffic: only this relay's own pods may dial them.
    ingress.push({
      from: fromOwnRelayPods(m),
      ports: [{ protocol: 'TCP', port: m.peerLinkPort }],
    });
  }
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      podSelector: { matchLabels: selectorLabels(m, 'relay') },
      policyTypes: ['Ingress'],
      ingress,
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
          from: fromOwnRelayPods(m),
          ports: [{ protocol: 'TCP', port: REDIS_PORT }],
        },
      ],
    },
  };
}
