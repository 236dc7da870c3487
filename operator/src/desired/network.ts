// NetworkPolicies, on unless spec.networkPolicy.enabled is false: relays accept
// their port from the allowed peers (and metrics scrapers) and their peer-link
// port only from each other; managed Redis accepts only relay pods of the same
// ViewportRelay. The relay port also serves the admin endpoints (one
// listener), so the admin token, not the policy, guards them.
import type { KubeObject } from '../object.js';
import { childLabels, selectorLabels } from './labels.js';
import { RELAY_PORT, REDIS_PORT, type RelayModel } from './model.js';

/** MONITORING_NAMESPACE is where the default metricsFrom expects Prometheus. */
export const MONITORING_NAMESPACE = 'monitoring';

type Peer = Record<string, unknown>;

// A NetworkPolicy peer is namespace-local: this selects this ViewportRelay's relay pods, every revision.
const fromOwnRelayPods = (m: RelayModel): Peer[] => [{ podSelector: { matchLabels: selectorLabels(m, 'relay') } }];
// kubernetes.io/metadata.name is set by the API server on every namespace (1.22+).
const fromNamespace = (name: string): Peer => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
const tcp = (port: number) => [{ protocol: 'TCP', port }];

/** networkPolicyEnabled: on unless the spec turns it off. */
export function networkPolicyEnabled(m: RelayModel): boolean {
  return m.spec.networkPolicy?.enabled ?? true;
}

/** relayPortRules: who may reach the relay port; metrics scrapers get their own rule once ingressFrom narrows it. */
function relayPortRules(m: RelayModel): Peer[] {
  const np = m.spec.networkPolicy;
  // Without an explicit list, allow in-cluster pods only (ingress controllers,
  // gateways, Prometheus) and nothing from outside the cluster network.
  if (np?.ingressFrom === undefined) return [{ from: [{ namespaceSelector: {} }], ports: tcp(RELAY_PORT) }];
  const metricsFrom = np.metricsFrom ?? [fromNamespace(MONITORING_NAMESPACE)];
  return [
    { from: np.ingressFrom, ports: tcp(RELAY_PORT) },
    ...(metricsFrom.length > 0 ? [{ from: metricsFrom, ports: tcp(RELAY_PORT) }] : []),
  ];
}

/** desiredRelayNetworkPolicy restricts ingress to the relay pods, or undefined when disabled. */
export function desiredRelayNetworkPolicy(m: RelayModel): KubeObject | undefined {
  if (!networkPolicyEnabled(m)) return undefined;
  const ingress = relayPortRules(m);
  // Peer links carry relay-internal traffic: only this relay's own pods may dial them.
  if (m.peerLinkPort !== undefined) ingress.push({ from: fromOwnRelayPods(m), ports: tcp(m.peerLinkPort) });
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
  if (!networkPolicyEnabled(m) || !m.managedRedis) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: m.names.redis, namespace: m.namespace, labels: childLabels(m, 'redis') },
    spec: {
      podSelector: { matchLabels: selectorLabels(m, 'redis') },
      policyTypes: ['Ingress'],
      ingress: [{ from: fromOwnRelayPods(m), ports: tcp(REDIS_PORT) }],
    },
  };
}
