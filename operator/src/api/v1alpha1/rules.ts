// Cross-field rules of ViewportRelaySpec. Each rule exists twice, side by side,
// so they cannot drift: as CEL for the API server (x-kubernetes-validations on
// spec) and as a TypeScript predicate for zod (the reconciler and `render`).
import { RELAY_PORT, type ViewportRelaySpec } from './spec.js';

/** SpecRule is one cross-field constraint: CEL for the CRD, holds() for zod. */
export interface SpecRule {
  /** Stable id, used in tests and as the zod issue's param. */
  readonly id: string;
  /** CEL with self = spec. */
  readonly cel: string;
  /** Field the error is reported on, relative to spec (JSONPath-like, CRD fieldPath). */
  readonly fieldPath: string;
  readonly message: string;
  readonly holds: (spec: ViewportRelaySpec) => boolean;
}

/** RESERVED_ENV_NAMES lists env vars the operator owns; spec.pod.env cannot set them. */
export const RESERVED_ENV_NAMES = [
  'HOST',
  'PORT',
  'POD_NAME',
  'RELAY_LISTEN_PORT',
  'RELAY_MODE',
  'RELAY_ID',
  'RELAY_PUBLIC_WS_BASE_URL',
  'RELAY_TLS_TERMINATION',
  'RELAY_VALIDATE_URL',
  'RELAY_JWKS_URL',
  'SERVER_URL',
  'RELAY_INTERNAL_KEY',
  'RELAY_SERVER_AUTH_MODE',
  'RELAY_SERVER_MTLS',
  'RELAY_SERVER_TLS_VERIFY',
  'RELAY_SERVER_CLIENT_CERT_PATH',
  'RELAY_SERVER_CLIENT_KEY_PATH',
  'RELAY_ENABLE_ADMIN_HTTP',
  'RELAY_ADMIN_TOKEN',
  'RELAY_BACKPLANE_MODE',
  'RELAY_BACKPLANE_URL',
  'RELAY_REDIS_URL',
  'RELAY_REDIS_KEY_PREFIX',
  'REDIS_PASSWORD',
  'RELAY_BUS_HMAC_KEY',
  'RELAY_BUS_ENABLED',
  'RELAY_PEER_LINK_PORT',
  'RELAY_PEER_LINK_HOST',
  'RELAY_CLIENT_REDIRECT_ENABLED',
  'RELAY_DRAIN_GRACE_MS',
] as const;

const multi = (s: ViewportRelaySpec): boolean => s.backplane !== undefined && s.backplane.mode !== 'single';
const pinned = (s: ViewportRelaySpec): boolean => s.routing?.mode === 'pinned';

/** SPEC_RULES are checked by the API server (CEL) and by parseRelay (zod). */
export const SPEC_RULES: readonly SpecRule[] = [
  {
    id: 'replicasWithAutoscaling',
    cel: '!(has(self.replicas) && has(self.autoscaling))',
    fieldPath: '.replicas',
    message: 'replicas must be unset when autoscaling is set: the HorizontalPodAutoscaler owns the replica count',
    holds: (s) => !(s.replicas !== undefined && s.autoscaling !== undefined),
  },
  {
    id: 'redisConfig',
    cel:
      "!has(self.backplane) || self.backplane.mode != 'redis' || " +
      '(has(self.backplane.redis) && has(self.backplane.redis.managed) != has(self.backplane.redis.external))',
    fieldPath: '.backplane',
    message: 'backplane.mode redis needs backplane.redis with exactly one of managed or external',
    holds: (s) =>
      s.backplane?.mode !== 'redis' ||
      (s.backplane.redis !== undefined && (s.backplane.redis.managed !== undefined) !== (s.backplane.redis.external !== undefined)),
  },
  {
    id: 'redisOnlyInRedisMode',
    cel: "!has(self.backplane) || !has(self.backplane.redis) || self.backplane.mode == 'redis'",
    fieldPath: '.backplane.redis',
    message: 'backplane.redis is only valid with backplane.mode redis',
    holds: (s) => s.backplane?.redis === undefined || s.backplane.mode === 'redis',
  },
  {
    id: 'serverOnlyInServerMode',
    cel: "!has(self.backplane) || !has(self.backplane.server) || self.backplane.mode == 'server'",
    fieldPath: '.backplane.server',
    message: 'backplane.server is only valid with backplane.mode server',
    holds: (s) => s.backplane?.server === undefined || s.backplane.mode === 'server',
  },
  {
    id: 'peerLinksOnlyInRedisMode',
    cel: "!has(self.backplane) || !has(self.backplane.peerLinks) || self.backplane.mode == 'redis'",
    fieldPath: '.backplane.peerLinks',
    message: 'backplane.peerLinks is only valid with backplane.mode redis',
    holds: (s) => s.backplane?.peerLinks === undefined || s.backplane.mode === 'redis',
  },
  {
    id: 'peerLinkPortFree',
    cel: `!has(self.backplane) || !has(self.backplane.peerLinks) || !has(self.backplane.peerLinks.port) || self.backplane.peerLinks.port != ${String(RELAY_PORT)}`,
    fieldPath: '.backplane.peerLinks.port',
    message: `backplane.peerLinks.port must differ from the relay port ${String(RELAY_PORT)} (WebSocket and admin)`,
    holds: (s) => s.backplane?.peerLinks?.port !== RELAY_PORT,
  },
  {
    id: 'multiReplicaNeedsBackplane',
    cel:
      "(has(self.backplane) && self.backplane.mode != 'single') || " +
      '((!has(self.replicas) || self.replicas <= 1) && !has(self.autoscaling))',
    fieldPath: '.backplane',
    message: 'more than one replica, or autoscaling, needs backplane.mode redis or server so replicas share presence and a bus',
    holds: (s) => multi(s) || ((s.replicas === undefined || s.replicas <= 1) && s.autoscaling === undefined),
  },
  {
    id: 'redirectNeedsBackplane',
    cel:
      "!has(self.clientRedirect) || !self.clientRedirect.enabled || (has(self.backplane) && self.backplane.mode != 'single')",
    fieldPath: '.clientRedirect',
    message: 'clientRedirect needs backplane.mode redis or server',
    holds: (s) => !s.clientRedirect?.enabled || multi(s),
  },
  {
    id: 'tlsNeedsHost',
    cel: '!has(self.exposure) || !has(self.exposure.tls) || has(self.exposure.host)',
    fieldPath: '.exposure.tls',
    message: 'exposure.tls requires exposure.host',
    holds: (s) => s.exposure?.tls === undefined || s.exposure.host !== undefined,
  },
  {
    id: 'tlsSource',
    cel:
      '!has(self.exposure) || !has(self.exposure.tls) || has(self.exposure.tls.secretName) || has(self.exposure.tls.issuerRef)',
    fieldPath: '.exposure.tls',
    message: 'exposure.tls needs secretName or issuerRef',
    holds: (s) => s.exposure?.tls === undefined || s.exposure.tls.secretName !== undefined || s.exposure.tls.issuerRef !== undefined,
  },
  {
    id: 'oneExposure',
    cel: '!has(self.exposure) || !(has(self.exposure.ingress) && has(self.exposure.httpRoute))',
    fieldPath: '.exposure',
    message: 'exposure.ingress and exposure.httpRoute are mutually exclusive',
    holds: (s) => !(s.exposure?.ingress !== undefined && s.exposure.httpRoute !== undefined),
  },
  {
    id: 'exposureNeedsHost',
    cel: '!has(self.exposure) || (!has(self.exposure.ingress) && !has(self.exposure.httpRoute)) || has(self.exposure.host)',
    fieldPath: '.exposure.host',
    message: 'exposure.ingress and exposure.httpRoute require exposure.host',
    holds: (s) => (s.exposure?.ingress === undefined && s.exposure?.httpRoute === undefined) || s.exposure.host !== undefined,
  },
  {
    id: 'pinnedNeedsHostPattern',
    cel: "!has(self.routing) || self.routing.mode != 'pinned' || has(self.routing.podHostPattern)",
    fieldPath: '.routing.podHostPattern',
    message: 'routing.mode pinned requires routing.podHostPattern, e.g. "{pod}.relay.example.com"',
    holds: (s) => !pinned(s) || s.routing?.podHostPattern !== undefined,
  },
  {
    id: 'hostPatternHasPod',
    cel: "!has(self.routing) || !has(self.routing.podHostPattern) || self.routing.podHostPattern.contains('{pod}')",
    fieldPath: '.routing.podHostPattern',
    message: 'routing.podHostPattern must contain {pod}',
    holds: (s) => s.routing?.podHostPattern === undefined || s.routing.podHostPattern.includes('{pod}'),
  },
  {
    id: 'pinnedNeedsExposure',
    cel:
      "!has(self.routing) || self.routing.mode != 'pinned' || " +
      '(has(self.exposure) && (has(self.exposure.ingress) || has(self.exposure.httpRoute)))',
    fieldPath: '.routing',
    message: 'routing.mode pinned needs exposure.ingress or exposure.httpRoute to publish the per-pod hosts',
    holds: (s) => !pinned(s) || s.exposure?.ingress !== undefined || s.exposure?.httpRoute !== undefined,
  },
  {
    id: 'pinnedNeedsBackplane',
    cel: "!has(self.routing) || self.routing.mode != 'pinned' || (has(self.backplane) && self.backplane.mode != 'single')",
    fieldPath: '.routing',
    message: 'routing.mode pinned needs backplane.mode redis or server: redirects come from shared presence',
    holds: (s) => !pinned(s) || multi(s),
  },
  {
    id: 'autoscalingBounds',
    cel: '!has(self.autoscaling) || self.autoscaling.minReplicas <= self.autoscaling.maxReplicas',
    fieldPath: '.autoscaling',
    message: 'autoscaling.minReplicas must not exceed autoscaling.maxReplicas',
    holds: (s) => s.autoscaling === undefined || s.autoscaling.minReplicas <= s.autoscaling.maxReplicas,
  },
  {
    id: 'autoscalingMetric',
    cel:
      '!has(self.autoscaling) || has(self.autoscaling.targetCPUUtilizationPercentage) || has(self.autoscaling.targetConnectionsPerPod)',
    fieldPath: '.autoscaling',
    message: 'autoscaling needs targetCPUUtilizationPercentage and/or targetConnectionsPerPod',
    holds: (s) =>
      s.autoscaling === undefined ||
      s.autoscaling.targetCPUUtilizationPercentage !== undefined ||
      s.autoscaling.targetConnectionsPerPod !== undefined,
  },
  {
    id: 'pdbOneOf',
    cel:
      '!has(self.podDisruptionBudget) || !(has(self.podDisruptionBudget.minAvailable) && has(self.podDisruptionBudget.maxUnavailable))',
    fieldPath: '.podDisruptionBudget',
    message: 'podDisruptionBudget.minAvailable and maxUnavailable are mutually exclusive',
    holds: (s) => !(s.podDisruptionBudget?.minAvailable !== undefined && s.podDisruptionBudget.maxUnavailable !== undefined),
  },
  {
    id: 'mtlsNeedsSecret',
    cel: "!has(self.platform.authMode) || self.platform.authMode != 'mtls' || has(self.platform.mtlsSecretName)",
    fieldPath: '.platform.mtlsSecretName',
    message: 'platform.authMode mtls requires platform.mtlsSecretName',
    holds: (s) => s.platform.authMode !== 'mtls' || s.platform.mtlsSecretName !== undefined,
  },
  {
    id: 'serviceMonitorNeedsAdmin',
    cel:
      '!has(self.serviceMonitor) || !self.serviceMonitor.enabled || !has(self.admin) || !has(self.admin.enabled) || self.admin.enabled',
    fieldPath: '.serviceMonitor',
    message: 'serviceMonitor needs admin enabled: /metrics is served behind the admin token',
    holds: (s) => !s.serviceMonitor?.enabled || s.admin?.enabled !== false,
  },
  {
    id: 'reservedEnv',
    cel: `!has(self.pod) || !has(self.pod.env) || self.pod.env.all(e, !(e.name in [${RESERVED_ENV_NAMES.map((n) => `'${n}'`).join(', ')}]))`,
    fieldPath: '.pod.env',
    message: 'pod.env cannot set variables the operator manages (HOST, PORT, RELAY_ID, RELAY_INTERNAL_KEY, ...)',
    holds: (s) => (s.pod?.env ?? []).every((e) => !(RESERVED_ENV_NAMES as readonly string[]).includes(e.name)),
  },
];
