// ViewportRelay spec: the single source of truth. The TypeScript types, the
// runtime validation in the reconciler and the CRD's openAPIV3Schema are all
// derived from these zod schemas. Defaults live in desired/defaults.ts, not
// here, so the CRD carries no defaults (GitOps tools diff on them).
import { z } from 'zod';
import { Affinity, Toleration } from './scheduling.js';

// Kubernetes-specific markers copied verbatim into the generated CRD.
const intOrString = { 'x-kubernetes-int-or-string': true } as const;
const preserveUnknown = { 'x-kubernetes-preserve-unknown-fields': true } as const;

const secretName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 subdomain');
const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lower-case DNS name');
const httpUrl = z.url({ protocol: /^https?$/ });
const stringMap = z.record(z.string(), z.string());
/** QUANTITY_PATTERN is a non-negative Kubernetes quantity (the API server's own grammar, without a minus sign):
 * `cpu: banana` is refused at admission instead of failing on the relay's workload. */
export const QUANTITY_PATTERN = '^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
const quantity = z.union([z.number().int().min(0), z.string().regex(new RegExp(QUANTITY_PATTERN), 'must be a Kubernetes quantity, e.g. 500m, 1, 512Mi')]).meta(intOrString);
const intOrPercent = z.union([z.number().int().min(0), z.string().regex(/^[0-9]+%$/, 'must be a count or a percentage, e.g. 1 or 50%')]).meta(intOrString);

// Container image reference (the distribution/reference grammar): [registry[:port]/]path[:tag][@digest].
const domainPart = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const pathPart = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
/** IMAGE_PATTERN is a container image reference: lower-case path, optional registry, tag and digest. */
export const IMAGE_PATTERN =
  `^(?:${domainPart}(?:\\.${domainPart})*(?::[0-9]+)?/)?${pathPart}(?:/${pathPart})*` +
  '(?::[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$';
const image = z.string().min(1).max(1024).regex(new RegExp(IMAGE_PATTERN), 'must be an image reference, e.g. ghcr.io/viewport/relay:0.1.0');

/** SecretKeyRef points at one key of a Secret in the relay's namespace. */
export const SecretKeyRef = z
  .strictObject({
    name: secretName.describe('Secret name, in the ViewportRelay namespace.'),
    key: z.string().min(1).max(253).describe('Key inside the Secret.'),
  })
  .describe('A key of a Secret in the same namespace.');
export type SecretKeyRef = z.infer<typeof SecretKeyRef>;

const Resources = z
  .strictObject({
    limits: z.record(z.string(), quantity).optional().describe('Resource limits, e.g. {cpu: "1", memory: 512Mi}.'),
    requests: z.record(z.string(), quantity).optional().describe('Resource requests.'),
  })
  .describe('Container resources (core/v1 ResourceRequirements, limits and requests only).');
export type Resources = z.infer<typeof Resources>;

const Platform = z
  .strictObject({
    validateUrl: httpUrl.describe(
      'Admission endpoint of the Viewport platform (RELAY_VALIDATE_URL), e.g. https://api.example.com/api/runtime/internal/relay/validate.',
    ),
    jwksUrl: httpUrl.optional().describe('JWKS of the platform (RELAY_JWKS_URL), for an optional local token pre-check.'),
    internalKeySecretRef: SecretKeyRef.describe('Shared secret between relay and platform (RELAY_INTERNAL_KEY); at least 24 characters.'),
    authMode: z
      .enum(['sharedSecret', 'mtls'])
      .optional()
      .describe('How the relay authenticates to the platform. sharedSecret (default) = private_network_shared_secret.'),
    mtlsSecretName: secretName
      .optional()
      .describe('kubernetes.io/tls Secret (tls.crt, tls.key, optional ca.crt) mounted for authMode mtls.'),
  })
  .describe('Link to the Viewport platform.');

const Admin = z
  .strictObject({
    enabled: z.boolean().optional().describe('Serve /metrics /state /logs behind a bearer token (default true).'),
    tokenSecretRef: SecretKeyRef.optional().describe('Admin bearer token. Generated into <name>-generated when absent.'),
  })
  .describe('Relay admin HTTP endpoints.');

const ManagedRedis = z
  .strictObject({
    image: image.optional().describe('Redis-compatible image (default a Valkey release).'),
    resources: Resources.optional(),
  })
  .describe('The operator runs a single Redis/Valkey Deployment and Service; no persistence (it is a bus, not a store).');

const ExternalRedis = z
  .strictObject({
    urlSecretRef: SecretKeyRef.describe('redis:// or rediss:// URL, credentials included (RELAY_REDIS_URL).'),
  })
  .describe('A Redis you run.');

const RedisBackplane = z
  .strictObject({
    managed: ManagedRedis.optional(),
    external: ExternalRedis.optional(),
    keyPrefix: z.string().min(1).max(128).optional().describe('RELAY_REDIS_KEY_PREFIX (default viewport:relay).'),
  })
  .describe('Redis backplane: exactly one of managed or external.');

const ServerBackplane = z
  .strictObject({
    url: httpUrl.optional().describe('Platform base URL for presence and bus calls (default: origin of platform.validateUrl).'),
  })
  .describe('Platform (server) backplane.');

/** RELAY_PORT is the relay's WebSocket and admin port inside the pod (one listener serves both). */
export const RELAY_PORT = 7781;
/** DEFAULT_PEER_LINK_PORT is the relay's peer-link port when spec.backplane.peerLinks.port is unset. */
export const DEFAULT_PEER_LINK_PORT = 8091;

const PeerLinks = z
  .strictObject({
    enabled: z.boolean().optional().describe('Relays send cross-relay frames to each other over a direct WebSocket (default true in redis mode).'),
    port: z
      .number()
      .int()
      .min(1024)
      .max(65535)
      .optional()
      .describe(`Pod port of the peer-link listener (RELAY_PEER_LINK_PORT, default ${String(DEFAULT_PEER_LINK_PORT)}); not ${String(RELAY_PORT)}.`),
  })
  .describe('Direct relay-to-relay links; Redis still finds peers and carries frames while a link is down. Redis mode only.');

const Backplane = z
  .strictObject({
    mode: z.enum(['single', 'redis', 'server']).describe('single: one relay, no bus. redis or server: several relays share presence and a bus.'),
    redis: RedisBackplane.optional(),
    server: ServerBackplane.optional(),
    peerLinks: PeerLinks.optional(),
    busHmacKeySecretRef: SecretKeyRef.optional().describe('Bus frame HMAC key. Generated into <name>-generated when absent.'),
  })
  .describe('How relay replicas find each other.');

const ClientRedirect = z
  .strictObject({
    enabled: z.boolean().describe('Tell clients to reconnect to the relay that holds their daemon (RELAY_CLIENT_REDIRECT_ENABLED).'),
  })
  .describe('Client redirect; needs a redis or server backplane.');

const IssuerRef = z
  .strictObject({
    name: z.string().min(1),
    kind: z.enum(['Issuer', 'ClusterIssuer']).optional().describe('Default ClusterIssuer.'),
    group: z.string().min(1).optional().describe('Default cert-manager.io.'),
  })
  .describe('cert-manager issuer; the operator annotates the Ingress or requests a Certificate for the Gateway listener.');

const Tls = z
  .strictObject({
    secretName: secretName.optional().describe('TLS Secret for the public host (and per-pod hosts in pinned routing). Default <name>-tls with issuerRef.'),
    issuerRef: IssuerRef.optional(),
  })
  .describe('TLS at the ingress or gateway. The relay itself runs with RELAY_TLS_TERMINATION=platform.');

const Ingress = z
  .strictObject({
    className: z.string().min(1).optional().describe('IngressClass name.'),
    annotations: stringMap.optional().describe('Annotations for the Ingress (timeouts for long-lived WebSockets belong here).'),
  })
  .describe('Expose through a networking.k8s.io/v1 Ingress.');

const ParentRef = z
  .strictObject({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    sectionName: z.string().min(1).optional(),
    group: z.string().optional(),
    kind: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
  })
  .describe('Gateway API parentRef.');

const HttpRoute = z
  .strictObject({
    parentRefs: z.array(ParentRef).min(1).max(32).describe('Gateways that serve the relay host(s).'),
    annotations: stringMap.optional(),
  })
  .describe('Expose through a gateway.networking.k8s.io/v1 HTTPRoute.');

const Exposure = z
  .strictObject({
    host: hostname.optional().describe('Public host; clients connect to wss://<host>/ws.'),
    tls: Tls.optional(),
    ingress: Ingress.optional(),
    httpRoute: HttpRoute.optional(),
    trustedProxies: z
      .array(
        z
          .string()
          .min(2)
          .max(64)
          .regex(/^[0-9A-Fa-f:.]+(\/[0-9]{1,3})?$/, 'must be an IP address or CIDR'),
      )
      .max(64)
      .optional()
      .describe(
        'RELAY_TRUSTED_PROXIES: addresses (IPs or CIDRs) whose X-Forwarded-For the relay believes, so per-IP limits apply to the client, not the proxy. Default with ingress or httpRoute: the private, shared and loopback ranges (10/8, 172.16/12, 192.168/16, 100.64/10, 127/8, fc00::/7, ::1); otherwise none. [] trusts none (a LoadBalancer with externalTrafficPolicy Local).',
      ),
  })
  .describe('How clients and daemons reach the relay from outside the cluster: ingress or httpRoute, not both.');

const Routing = z
  .strictObject({
    mode: z
      .enum(['shared', 'pinned'])
      .describe('shared: any replica serves any client via the backplane. pinned: StatefulSet, one Service and host per pod.'),
    podHostPattern: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9{}.-]+$/, 'must be a lower-case DNS name containing {pod}')
      .optional()
      .describe('Per-pod host for pinned routing; must contain {pod}, e.g. "{pod}.relay.example.com".'),
  })
  .describe('How a client reaches the replica that holds its daemon.');

const Autoscaling = z
  .strictObject({
    minReplicas: z.number().int().min(1).describe('Lower bound.'),
    maxReplicas: z.number().int().min(1).max(1000).describe('Upper bound. Pinned routing pre-creates this many per-pod Services and hosts.'),
    targetCPUUtilizationPercentage: z.number().int().min(1).max(100).optional(),
    targetConnectionsPerPod: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Average relay_connections_total per pod (Pods metric, needs a custom metrics adapter).'),
    connectionsMetric: z
      .enum(['Pods', 'External'])
      .optional()
      .describe(
        'Where the HPA reads relay_connections_total for targetConnectionsPerPod: Pods (custom metrics API, default) or External (external metrics API, selected by the relay Service\'s name).',
      ),
    keda: z
      .strictObject({
        prometheusServerAddress: httpUrl.describe('Prometheus that scrapes the relays (spec.serviceMonitor), e.g. http://prometheus-operated.monitoring.svc:9090.'),
      })
      .optional()
      .describe(
        'Scale with a KEDA ScaledObject (keda.sh/v1alpha1) instead of an HPA: a Prometheus trigger on the relays\' connections (targetConnectionsPerPod) and/or a cpu trigger. KEDA then owns the HPA.',
      ),
  })
  .describe('HorizontalPodAutoscaler (autoscaling/v2) on the relay workload, or a KEDA ScaledObject. Mutually exclusive with replicas.');

const PodDisruptionBudget = z
  .strictObject({
    enabled: z.boolean().optional().describe('Default true when more than one replica can run.'),
    minAvailable: intOrPercent.optional(),
    maxUnavailable: intOrPercent.optional().describe('Default 1.'),
  })
  .describe('policy/v1 PodDisruptionBudget.');

const TopologySpread = z
  .strictObject({
    enabled: z.boolean().optional().describe('Default true.'),
    topologyKey: z.string().min(1).optional().describe('Default topology.kubernetes.io/zone.'),
    maxSkew: z.number().int().min(1).optional().describe('Default 1.'),
    whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']).optional().describe('Default ScheduleAnyway.'),
  })
  .describe('Spread relay pods across zones (and nodes, always ScheduleAnyway). Only nodes whose taints the pods tolerate count as domains.');

const networkPolicyPeers = z.array(z.record(z.string(), z.unknown()).meta(preserveUnknown)).max(32);

const NetworkPolicy = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe('Default true. false: no NetworkPolicy at all (every pod in the cluster reaches the peer-link port and managed Redis).'),
    ingressFrom: networkPolicyPeers
      .optional()
      .describe(
        `NetworkPolicyPeer list allowed to reach the relay port ${String(RELAY_PORT)} (your ingress controller or gateway). Default: every pod in the cluster, nothing from outside it.`,
      ),
    metricsFrom: networkPolicyPeers
      .optional()
      .describe(
        `Scrapers of /metrics (port ${String(RELAY_PORT)}, behind the admin token), added when ingressFrom is set. Default: pods in the namespace named monitoring.`,
      ),
  })
  .describe('networking.k8s.io/v1 NetworkPolicy, on by default: the peer-link port and managed Redis only from this relay\'s own pods.');

const ServiceMonitor = z
  .strictObject({
    enabled: z.boolean(),
    interval: z
      .string()
      .regex(/^[0-9]+(ms|s|m|h)$/)
      .optional()
      .describe('Scrape interval, default 30s.'),
    labels: stringMap.optional().describe('Labels your Prometheus selects ServiceMonitors by.'),
  })
  .describe('monitoring.coreos.com/v1 ServiceMonitor scraping /metrics with the admin token.');

const EnvVar = z
  .strictObject({
    name: z.string().min(1).regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
    value: z.string().optional(),
    valueFrom: z.record(z.string(), z.unknown()).meta(preserveUnknown).optional().describe('core/v1 EnvVarSource.'),
  })
  .describe('Extra environment variable; names the operator sets cannot be overridden.');

const Pod = z
  .strictObject({
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
    nodeSelector: stringMap.optional(),
    tolerations: z.array(Toleration).max(64).optional(),
    affinity: Affinity.optional(),
    priorityClassName: secretName.optional().describe('PriorityClass of the relay pods (it must exist: pods are refused without it).'),
    env: z.array(EnvVar).max(64).optional(),
  })
  .describe('Relay pod overrides.');

const Drain = z
  .strictObject({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .optional()
      .describe('Time the relay spreads reconnect hints over on shutdown (RELAY_DRAIN_GRACE_MS). Default 30.'),
    preStopDelaySeconds: z
      .number()
      .int()
      .min(0)
      .max(300)
      .optional()
      .describe('Sleep before SIGTERM so endpoints drop the pod first. Default 5.'),
  })
  .describe('Graceful shutdown. terminationGracePeriodSeconds = preStop + grace + 10s margin.');

/** ViewportRelaySpec is the desired state of one relay deployment. */
export const ViewportRelaySpec = z
  .strictObject({
    replicas: z.number().int().min(0).max(1000).optional().describe('Relay replicas (default 1). Leave unset with autoscaling.'),
    image: image.optional().describe('Relay image (default: the operator --relay-image).'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    imagePullSecrets: z.array(z.strictObject({ name: secretName })).max(16).optional(),
    resources: Resources.optional(),
    relayMode: z.enum(['prod', 'staging', 'dev']).optional().describe('RELAY_MODE (default prod).'),
    platform: Platform,
    admin: Admin.optional(),
    backplane: Backplane.optional().describe('Default {mode: single}.'),
    clientRedirect: ClientRedirect.optional(),
    exposure: Exposure.optional(),
    routing: Routing.optional().describe('Default {mode: shared}.'),
    autoscaling: Autoscaling.optional(),
    podDisruptionBudget: PodDisruptionBudget.optional(),
    topologySpread: TopologySpread.optional(),
    networkPolicy: NetworkPolicy.optional(),
    serviceMonitor: ServiceMonitor.optional(),
    pod: Pod.optional(),
    drain: Drain.optional(),
  })
  .describe('Desired state of a Viewport relay deployment.');
/** ViewportRelaySpec (type) is the parsed spec, before defaults. */
export type ViewportRelaySpec = z.infer<typeof ViewportRelaySpec>;
