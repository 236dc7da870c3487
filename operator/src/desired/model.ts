// RelayModel: a validated ViewportRelay with every default applied and every
// derived fact (names, hosts, endpoint, replica policy) computed once, so the
// per-child builders stay short and agree with each other.
import type { ViewportRelay } from '../api/v1alpha1/relay.js';
import { DEFAULT_PEER_LINK_PORT, RELAY_PORT, type SecretKeyRef, type ViewportRelaySpec } from '../api/v1alpha1/spec.js';

// The relay port is part of the API (the peer-link port must differ from it).
export { RELAY_PORT } from '../api/v1alpha1/spec.js';
/** REDIS_PORT is the managed Redis port. */
export const REDIS_PORT = 6379;
/** WS_PATH is the only upgrade path the relay accepts. */
export const WS_PATH = '/ws';
/** DEFAULT_REDIS_IMAGE is the managed backplane image when spec does not name one. */
export const DEFAULT_REDIS_IMAGE = 'docker.io/valkey/valkey:8.1-alpine';

/** GENERATED_KEYS are the keys of the <name>-generated Secret. */
export const GENERATED_KEYS = {
  adminToken: 'admin-token',
  busHmacKey: 'bus-hmac-key',
  redisPassword: 'redis-password',
} as const;

/** BuilderConfig is operator-level configuration the builders need. */
export interface BuilderConfig {
  /** Relay image used when spec.image is absent. */
  relayImage: string;
}

/** RelayModel is the resolved view of one ViewportRelay. */
export interface RelayModel {
  name: string;
  namespace: string;
  uid: string;
  spec: ViewportRelaySpec;
  image: string;
  backplaneMode: 'single' | 'redis' | 'server';
  pinned: boolean;
  autoscaling: boolean;
  /** Fixed replica count, or undefined when the HPA owns it. */
  replicas: number | undefined;
  /** Upper bound of pods (per-pod Services and hosts are created for all). */
  maxPods: number;
  adminEnabled: boolean;
  adminTokenRef: SecretKeyRef | undefined;
  busHmacKeyRef: SecretKeyRef | undefined;
  managedRedis: boolean;
  redirectEnabled: boolean;
  /** Pod port peers dial for direct relay-to-relay links, or undefined when peer links are off. */
  peerLinkPort: number | undefined;
  host: string | undefined;
  /** Public base URL clients use (wss://host/ws), or the in-cluster URL without exposure. */
  endpoint: string;
  /** Pod names, in ordinal order, for pinned routing. */
  podNames: string[];
  drainGraceSeconds: number;
  preStopSeconds: number;
  /** Names of children, computed once. */
  names: {
    workload: string;
    service: string;
    headless: string;
    generatedSecret: string;
    redis: string;
    tlsSecret: string | undefined;
  };
}

/** podHost fills a podHostPattern for one pod name (or an env reference like $(POD_NAME)). */
export function podHost(pattern: string, pod: string): string {
  return pattern.replaceAll('{pod}', pod);
}

/** needsGeneratedSecret is true when any generated value is used. */
export function needsGeneratedSecret(m: RelayModel): boolean {
  return generatedKeysNeeded(m).length > 0;
}

/** generatedKeysNeeded lists the keys of <name>-generated this relay uses. */
export function generatedKeysNeeded(m: RelayModel): string[] {
  const keys: string[] = [];
  if (m.adminEnabled && m.spec.admin?.tokenSecretRef === undefined) keys.push(GENERATED_KEYS.adminToken);
  if (m.backplaneMode !== 'single' && m.spec.backplane?.busHmacKeySecretRef === undefined) keys.push(GENERATED_KEYS.busHmacKey);
  if (m.managedRedis) keys.push(GENERATED_KEYS.redisPassword);
  return keys;
}

// Peer links exist only in redis mode, where the relay needs them to skip
// Redis on the cross-relay hop; they default on there.
function peerLinkPort(spec: ViewportRelaySpec): number | undefined {
  const backplane = spec.backplane;
  if (backplane?.mode !== 'redis' || backplane.peerLinks?.enabled === false) return undefined;
  return backplane.peerLinks?.port ?? DEFAULT_PEER_LINK_PORT;
}

/** relayModel resolves defaults and derived names for a parsed ViewportRelay. */
export function relayModel(relay: ViewportRelay, cfg: BuilderConfig): RelayModel {
  const { name } = relay.metadata;
  const namespace = relay.metadata.namespace ?? 'default';
  const spec = relay.spec;
  const backplaneMode = spec.backplane?.mode ?? 'single';
  const pinned = spec.routing?.mode === 'pinned';
  const autoscaling = spec.autoscaling !== undefined;
  const replicas = autoscaling ? undefined : (spec.replicas ?? 1);
  const maxPods = spec.autoscaling?.maxReplicas ?? replicas ?? 1;
  const adminEnabled = spec.admin?.enabled ?? true;
  const generatedSecret = `${name}-generated`;
  const host = spec.exposure?.host;
  const tls = spec.exposure?.tls;
  const scheme = tls !== undefined ? 'wss' : 'ws';
  const endpoint =
    host !== undefined ? `${scheme}://${host}${WS_PATH}` : `ws://${name}.${namespace}.svc:${RELAY_PORT}${WS_PATH}`;
  return {
    name,
    namespace,
    uid: relay.metadata.uid ?? '',
    spec,
    image: spec.image ?? cfg.relayImage,
    backplaneMode,
    pinned,
    autoscaling,
    replicas,
    maxPods,
    adminEnabled,
    adminTokenRef: adminEnabled
      ? (spec.admin?.tokenSecretRef ?? { name: generatedSecret, key: GENERATED_KEYS.adminToken })
      : undefined,
    busHmacKeyRef:
      backplaneMode === 'single'
        ? undefined
        : (spec.backplane?.busHmacKeySecretRef ?? { name: generatedSecret, key: GENERATED_KEYS.busHmacKey }),
    managedRedis: backplaneMode === 'redis' && spec.backplane?.redis?.managed !== undefined,
    // Behind one shared URL a redirect points back at the same URL (docs/protocol.md#weak-redirect-loop), so
    // redirects default on only where each pod has its own host.
    redirectEnabled: backplaneMode !== 'single' && (spec.clientRedirect?.enabled ?? pinned),
    peerLinkPort: peerLinkPort(spec),
    host,
    endpoint,
    podNames: pinned ? Array.from({ length: maxPods }, (_, i) => `${name}-${i}`) : [],
    drainGraceSeconds: spec.drain?.gracePeriodSeconds ?? 30,
    preStopSeconds: spec.drain?.preStopDelaySeconds ?? 5,
    names: {
      workload: name,
      service: name,
      headless: `${name}-pods`,
      generatedSecret,
      redis: `${name}-redis`,
      tlsSecret: tls === undefined ? undefined : (tls.secretName ?? `${name}-tls`),
    },
  };
}
