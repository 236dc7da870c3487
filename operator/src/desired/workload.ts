// The relay workload: a Deployment (shared routing) or a StatefulSet (pinned
// routing, stable pod names for per-pod hosts), with one pod template.
import type { KubeObject } from '../object.js';
import { PLATFORM_TLS_DIR, relayEnv } from './env.js';
import { childLabels, SECRETS_CHECKSUM_ANNOTATION, selectorLabels } from './labels.js';
import { RELAY_PORT, type RelayModel } from './model.js';

/** RELAY_UID is the non-root user of the relay image (Dockerfile.relay). */
export const RELAY_UID = 65532;
/** PEER_PORT_NAME names the relay container's peer-link port (redis mode). */
export const PEER_PORT_NAME = 'peer';
/** TERMINATION_MARGIN_SECONDS is added to preStop + drain so SIGKILL never cuts a drain short. */
export const TERMINATION_MARGIN_SECONDS = 10;

const DEFAULT_RESOURCES = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { memory: '512Mi' },
};

/** restrictedContainerSecurity satisfies the Pod Security "restricted" profile. */
export function restrictedContainerSecurity(): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** podSecurity is the pod-level restricted security context for a given uid. */
export function podSecurity(uid: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function topologySpread(m: RelayModel): Record<string, unknown>[] | undefined {
  const ts = m.spec.topologySpread;
  if (ts?.enabled === false) return undefined;
  const labelSelector = { matchLabels: selectorLabels(m, 'relay') };
  // Deployments re-create pods under a new template hash; spreading only among
  // the same revision keeps a rollout from skewing on old pods.
  const matchLabelKeys = m.pinned ? undefined : ['pod-template-hash'];
  // Count only nodes a relay may run on. By default the scheduler counts a node
  // whose taints the pod does not tolerate (a tainted control plane) as an empty
  // domain, so DoNotSchedule leaves a replica Pending. Node selectors and
  // affinity are already honored by default (nodeAffinityPolicy: Honor). The
  // field is on by default since Kubernetes 1.26; the operator needs 1.29.
  const constraint = (topologyKey: string, maxSkew: number, whenUnsatisfiable: string): Record<string, unknown> => ({
    maxSkew,
    topologyKey,
    whenUnsatisfiable,
    nodeTaintsPolicy: 'Honor',
    labelSelector,
    ...(matchLabelKeys ? { matchLabelKeys } : {}),
  });
  return [
    constraint(ts?.topologyKey ?? 'topology.kubernetes.io/zone', ts?.maxSkew ?? 1, ts?.whenUnsatisfiable ?? 'ScheduleAnyway'),
    constraint('kubernetes.io/hostname', 1, 'ScheduleAnyway'),
  ];
}

/** relayPodTemplate builds the relay pod template; secretsChecksum rolls pods when a used Secret changes. */
export function relayPodTemplate(m: RelayModel, secretsChecksum: string): Record<string, unknown> {
  const { spec } = m;
  const pod = spec.pod ?? {};
  const mtls = spec.platform.authMode === 'mtls' && spec.platform.mtlsSecretName !== undefined;
  const volumes: Record<string, unknown>[] = [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }];
  const mounts: Record<string, unknown>[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (mtls) {
    volumes.push({ name: 'platform-tls', secret: { secretName: spec.platform.mtlsSecretName, defaultMode: 0o440 } });
    mounts.push({ name: 'platform-tls', mountPath: PLATFORM_TLS_DIR, readOnly: true });
  }
  const container: Record<string, unknown> = {
    name: 'relay',
    image: m.image,
    ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
    args: ['serve'],
    ports: [
      { name: 'ws', containerPort: RELAY_PORT, protocol: 'TCP' },
      ...(m.peerLinkPort !== undefined ? [{ name: PEER_PORT_NAME, containerPort: m.peerLinkPort, protocol: 'TCP' }] : []),
    ],
    env: relayEnv(m),
    resources: spec.resources ?? DEFAULT_RESOURCES,
    readinessProbe: { httpGet: { path: '/ready', port: 'ws' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: '/health', port: 'ws' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    startupProbe: { httpGet: { path: '/health', port: 'ws' }, periodSeconds: 2, failureThreshold: 30 },
    ...(m.preStopSeconds > 0 ? { lifecycle: { preStop: { sleep: { seconds: m.preStopSeconds } } } } : {}),
    securityContext: restrictedContainerSecurity(),
    volumeMounts: mounts,
  };
  return {
    metadata: {
      labels: { ...(pod.labels ?? {}), ...childLabels(m, 'relay') },
      annotations: { ...(pod.annotations ?? {}), [SECRETS_CHECKSUM_ANNOTATION]: secretsChecksum },
    },
    spec: {
      serviceAccountName: m.name,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: m.preStopSeconds + m.drainGraceSeconds + TERMINATION_MARGIN_SECONDS,
      securityContext: podSecurity(RELAY_UID),
      ...(spec.imagePullSecrets ? { imagePullSecrets: spec.imagePullSecrets } : {}),
      ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
      ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
      ...(pod.affinity ? { affinity: pod.affinity } : {}),
      ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
      ...(topologySpread(m) ? { topologySpreadConstraints: topologySpread(m) } : {}),
      containers: [container],
      volumes,
    },
  };
}

/** desiredRelayWorkload is the relay Deployment, or StatefulSet when routing is pinned. replicas is omitted when autoscaling. */
export function desiredRelayWorkload(m: RelayModel, secretsChecksum: string): KubeObject {
  const metadata = { name: m.names.workload, namespace: m.namespace, labels: childLabels(m, 'relay') };
  const common = {
    ...(m.replicas !== undefined ? { replicas: m.replicas } : {}),
    selector: { matchLabels: selectorLabels(m, 'relay') },
    template: relayPodTemplate(m, secretsChecksum),
    revisionHistoryLimit: 5,
  };
  if (m.pinned) {
    return {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata,
      spec: {
        ...common,
        serviceName: m.names.headless,
        // Relays hold no disk state; start and stop pods in parallel.
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      ...common,
      progressDeadlineSeconds: 600,
      // Surge first: a relay leaves only after its replacement is ready.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    },
  };
}
