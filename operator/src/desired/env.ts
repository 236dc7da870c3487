// The relay container's environment: the ONE place that maps a ViewportRelay
// to relay configuration (docs/protocol.md#configuration). Order matters: $(POD_NAME) and
// $(REDIS_PASSWORD) expand only from variables defined earlier in the list.
import { podHost, RELAY_PORT, REDIS_PORT, WS_PATH, GENERATED_KEYS, type RelayModel } from './model.js';

/** EnvVar is core/v1 EnvVar. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

/** PLATFORM_TLS_DIR is where the platform mTLS Secret is mounted. */
export const PLATFORM_TLS_DIR = '/etc/viewport/platform-tls';

const plain = (name: string, value: string): EnvVar => ({ name, value });
const fromSecret = (name: string, ref: { name: string; key: string }): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
});
const fromField = (name: string, fieldPath: string): EnvVar => ({
  name,
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
});
const flag = (on: boolean): string => (on ? '1' : '0');

/** publicWsBaseUrl is RELAY_PUBLIC_WS_BASE_URL: per pod (via $(POD_NAME)) when pinned. */
export function publicWsBaseUrl(m: RelayModel): string {
  const pattern = m.spec.routing?.podHostPattern;
  if (m.pinned && pattern !== undefined) {
    const scheme = m.spec.exposure?.tls !== undefined ? 'wss' : 'ws';
    return `${scheme}://${podHost(pattern, '$(POD_NAME)')}${WS_PATH}`;
  }
  return m.endpoint;
}

/**
 * CLUSTER_PROXY_RANGES are trusted as proxies when the relay is exposed through
 * an Ingress or a Gateway: the controller's pod address is unknown, but it is
 * a cluster address (private, shared or loopback for a mesh sidecar), never a
 * public client's. Clients inside these ranges can still reach the pod
 * directly; networkPolicy.ingressFrom narrows who may (docs/security.md).
 */
export const CLUSTER_PROXY_RANGES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  'fc00::/7',
  '::1/128',
] as const;

/** trustedProxies is RELAY_TRUSTED_PROXIES: the spec's list, else the cluster ranges behind an Ingress or Gateway, else none. */
export function trustedProxies(m: RelayModel): readonly string[] {
  const exposure = m.spec.exposure;
  if (exposure?.trustedProxies !== undefined) return exposure.trustedProxies;
  return exposure?.ingress !== undefined || exposure?.httpRoute !== undefined ? CLUSTER_PROXY_RANGES : [];
}

/**
 * redirectHosts: the hosts a pinned prod relay may send clients to (the shared
 * one and every per-pod host), else none. Only prod needs the list: staging and
 * dev relays redirect to any host (docs/protocol.md#redirect), and a list there
 * would also refuse the local addresses test runners rewrite per-pod hosts to.
 */
export function redirectHosts(m: RelayModel): string[] {
  const pattern = m.spec.routing?.podHostPattern;
  const prod = (m.spec.relayMode ?? 'prod') === 'prod';
  if (!prod || !m.pinned || !m.redirectEnabled || pattern === undefined || m.host === undefined) return [];
  return [m.host, ...m.podNames.map((pod) => podHost(pattern, pod))];
}

/**
 * policyEnv: variables that follow from the exposure (docs/protocol.md#client-ip,
 * docs/protocol.md#redirect) and that spec.pod.env may still set itself (they
 * were the documented workaround): the spec's value then wins, never a duplicate.
 */
function policyEnv(m: RelayModel): EnvVar[] {
  const env: EnvVar[] = [];
  const proxies = trustedProxies(m);
  if (proxies.length > 0) env.push(plain('RELAY_TRUSTED_PROXIES', proxies.join(',')));
  const hosts = redirectHosts(m);
  if (hosts.length > 0 && m.host !== undefined) {
    // A prod relay redirects only to allowed hosts: without these it never redirects.
    env.push(plain('RELAY_REDIRECT_ALLOWED_HOSTS', hosts.join(',')), plain('RELAY_TLS_HOST', m.host));
  }
  const own = new Set((m.spec.pod?.env ?? []).map((e) => e.name));
  return env.filter((e) => !own.has(e.name));
}

/** redisServiceHost is the in-cluster DNS name of the managed Redis. */
export function redisServiceHost(m: RelayModel): string {
  return `${m.names.redis}.${m.namespace}.svc`;
}

/** relayEnv builds the relay container's env list. */
export function relayEnv(m: RelayModel): EnvVar[] {
  const { spec } = m;
  const env: EnvVar[] = [
    fromField('POD_NAME', 'metadata.name'),
    plain('HOST', '::'),
    plain('RELAY_LISTEN_PORT', String(RELAY_PORT)),
    plain('RELAY_MODE', spec.relayMode ?? 'prod'),
    fromField('RELAY_ID', 'metadata.name'),
    plain('RELAY_PUBLIC_WS_BASE_URL', publicWsBaseUrl(m)),
    plain('RELAY_TLS_TERMINATION', 'platform'),
    plain('RELAY_VALIDATE_URL', spec.platform.validateUrl),
  ];
  if (spec.platform.jwksUrl !== undefined) env.push(plain('RELAY_JWKS_URL', spec.platform.jwksUrl));
  env.push(fromSecret('RELAY_INTERNAL_KEY', spec.platform.internalKeySecretRef));
  if (spec.platform.authMode === 'mtls') {
    env.push(
      plain('RELAY_SERVER_AUTH_MODE', 'mtls'),
      plain('RELAY_SERVER_MTLS', '1'),
      plain('RELAY_SERVER_TLS_VERIFY', '1'),
      plain('RELAY_SERVER_CLIENT_CERT_PATH', `${PLATFORM_TLS_DIR}/tls.crt`),
      plain('RELAY_SERVER_CLIENT_KEY_PATH', `${PLATFORM_TLS_DIR}/tls.key`),
    );
  } else {
    env.push(plain('RELAY_SERVER_AUTH_MODE', 'private_network_shared_secret'));
  }
  env.push(plain('RELAY_ENABLE_ADMIN_HTTP', flag(m.adminEnabled)));
  if (m.adminTokenRef !== undefined) env.push(fromSecret('RELAY_ADMIN_TOKEN', m.adminTokenRef));
  env.push(plain('RELAY_BACKPLANE_MODE', m.backplaneMode));
  if (m.backplaneMode === 'server') {
    env.push(plain('RELAY_BACKPLANE_URL', spec.backplane?.server?.url ?? new URL(spec.platform.validateUrl).origin));
  }
  if (m.backplaneMode === 'redis') {
    const external = spec.backplane?.redis?.external;
    if (external !== undefined) {
      env.push(fromSecret('RELAY_REDIS_URL', external.urlSecretRef));
    } else {
      env.push(
        fromSecret('REDIS_PASSWORD', { name: m.names.generatedSecret, key: GENERATED_KEYS.redisPassword }),
        plain('RELAY_REDIS_URL', `redis://:$(REDIS_PASSWORD)@${redisServiceHost(m)}:${REDIS_PORT}`),
      );
    }
    const prefix = spec.backplane?.redis?.keyPrefix;
    if (prefix !== undefined) env.push(plain('RELAY_REDIS_KEY_PREFIX', prefix));
  }
  if (m.busHmacKeyRef !== undefined) {
    // The bus defaults off in the relay, which silently breaks cross-relay routing (docs/protocol.md#weak-bus-off).
    env.push(plain('RELAY_BUS_ENABLED', '1'), fromSecret('RELAY_BUS_HMAC_KEY', m.busHmacKeyRef));
  }
  if (m.peerLinkPort !== undefined) {
    // Peers dial each pod directly at its IP (never through a Service); they
    // prove the bus HMAC key, so the link needs no secret of its own.
    env.push(plain('RELAY_PEER_LINK_PORT', String(m.peerLinkPort)), fromField('RELAY_PEER_LINK_HOST', 'status.podIP'));
  }
  env.push(plain('RELAY_CLIENT_REDIRECT_ENABLED', flag(m.redirectEnabled)));
  env.push(plain('RELAY_DRAIN_GRACE_MS', String(m.drainGraceSeconds * 1000)));
  env.push(...policyEnv(m));
  for (const extra of spec.pod?.env ?? []) env.push({ ...extra });
  return env;
}

/** secretRefsOf lists the Secret keys the relay env reads (for the checksum annotation). */
export function secretRefsOf(env: readonly EnvVar[]): { name: string; key: string }[] {
  const refs: { name: string; key: string }[] = [];
  for (const e of env) {
    const ref = (e.valueFrom as { secretKeyRef?: { name?: unknown; key?: unknown } } | undefined)?.secretKeyRef;
    if (ref && typeof ref.name === 'string' && typeof ref.key === 'string') refs.push({ name: ref.name, key: ref.key });
  }
  return refs;
}
