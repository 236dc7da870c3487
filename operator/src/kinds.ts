// Every Kubernetes kind the operator touches, with the REST facts the kube
// adapter needs and the verbs RBAC must grant. Single source for the client's
// URL mapping, the informers, the child inventory and rbac-rules.yaml.

/** KindInfo describes one resource type on the API server. */
export interface KindInfo {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Children are labelled, owned and pruned by the operator. */
  readonly child: boolean;
  /** Optional kinds come from add-on CRDs (Gateway API, Prometheus Operator, cert-manager). */
  readonly optional: boolean;
  readonly verbs: readonly string[];
  /** Granted by a dedicated chart Role, not by the generated rules (the leader-election Lease). */
  readonly ownRole?: boolean;
}

// Children are listed and watched, server-side applied (patch, and create for
// the first apply) and pruned (delete). Never updated: apply does not need it.
const CHILD_VERBS = ['list', 'watch', 'create', 'patch', 'delete'] as const;

const child = (apiVersion: string, kind: string, plural: string, optional = false, extraVerbs: readonly string[] = []): KindInfo => ({
  apiVersion,
  kind,
  plural,
  namespaced: true,
  child: true,
  optional,
  verbs: [...CHILD_VERBS, ...extraVerbs],
});

/** KINDS lists every resource type; children first, in apply order. */
export const KINDS: readonly KindInfo[] = [
  child('v1', 'ServiceAccount', 'serviceaccounts'),
  // get: the values of the user Secrets a relay references are read one by one.
  child('v1', 'Secret', 'secrets', false, ['get']),
  child('v1', 'Service', 'services'),
  child('apps/v1', 'Deployment', 'deployments'),
  child('apps/v1', 'StatefulSet', 'statefulsets'),
  child('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  child('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  child('keda.sh/v1alpha1', 'ScaledObject', 'scaledobjects', true),
  child('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  child('networking.k8s.io/v1', 'Ingress', 'ingresses'),
  child('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes', true),
  child('cert-manager.io/v1', 'Certificate', 'certificates', true),
  child('monitoring.coreos.com/v1', 'ServiceMonitor', 'servicemonitors', true),
  {
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay',
    plural: 'viewportrelays',
    namespaced: true,
    child: false,
    optional: false,
    verbs: ['get', 'list', 'watch'],
  },
  {
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay/status',
    plural: 'viewportrelays/status',
    namespaced: true,
    child: false,
    optional: false,
    // Status is only server-side applied.
    verbs: ['patch'],
  },
  {
    // Owner references with blockOwnerDeletion need update on the owner's finalizers.
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay/finalizers',
    plural: 'viewportrelays/finalizers',
    namespaced: true,
    child: false,
    optional: false,
    verbs: ['update'],
  },
  {
    // Listed by label while a relay is not ready, to say why its pods do not come up.
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    child: false,
    optional: false,
    verbs: ['list'],
  },
  {
    // FailedCreate Events about a StatefulSet that lacks pods (it has no ReplicaFailure condition).
    apiVersion: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    child: false,
    optional: false,
    verbs: ['list'],
  },
  {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    child: false,
    optional: false,
    // Each event is a new object; none is ever patched.
    verbs: ['create'],
  },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    plural: 'leases',
    namespaced: true,
    child: false,
    optional: false,
    // get, create, update on one Lease in the operator's own namespace: granted
    // by the chart's leader-election Role (get and update by resourceName), never
    // in the watched namespaces, so not part of the generated rules.
    verbs: ['get', 'create', 'update'],
    ownRole: true,
  },
];

/** CHILD_KINDS are the kinds a ViewportRelay owns. */
export const CHILD_KINDS: readonly KindInfo[] = KINDS.filter((k) => k.child);

/** kindKey is "apiVersion/Kind", the lookup key into KINDS. */
export const kindKey = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`;

const BY_KEY = new Map(KINDS.map((k) => [kindKey(k.apiVersion, k.kind), k]));

/** findKind returns the KindInfo for an apiVersion and kind, or undefined. */
export function findKind(apiVersion: string, kind: string): KindInfo | undefined {
  return BY_KEY.get(kindKey(apiVersion, kind));
}

/** apiGroupOf returns the group of an apiVersion ("" for core). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
