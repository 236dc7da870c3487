// Command lines of each control-plane component. Pure: paths and ports in,
// argv out, so the flags can be read in one place.
import type { Pki } from './pki.js';

/** PodSecurityLevel is a Pod Security Standard enforced cluster-wide by default. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** ServiceClusterIpRange is the virtual IP range for Services. */
export const serviceClusterIpRange = '10.96.0.0/16';

/** ServiceAccountIssuer is the `iss` of every service-account token. */
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

/** etcdArgs runs a single-member etcd on loopback, without fsync (test data is disposable). */
export function etcdArgs(o: { dataDir: string; clientPort: number; peerPort: number }): string[] {
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  return [
    '--name=e2e',
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=e2e=${peer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

/** apiServerArgs serves HTTPS on 127.0.0.1 with client-cert auth, service-account
 * tokens and, when rbac is on, the Node and RBAC authorizers. The default
 * admission plugins already include PodSecurity (admissionConfig sets its
 * defaults); OwnerReferencesPermissionEnforcement is added so a controller
 * lacking `update` on its owner's finalizers fails here as it would on
 * clusters that enable it (OpenShift does). */
export function apiServerArgs(o: {
  pki: Pki;
  etcdPort: number;
  port: number;
  certDir: string;
  rbac: boolean;
  admissionConfig?: string;
}): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${o.etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // Loopback cannot be a Service endpoint; nothing here needs the kubernetes Endpoints.
    '--endpoint-reconciler-type=none',
    `--secure-port=${o.port}`,
    `--cert-dir=${o.certDir}`,
    `--tls-cert-file=${o.pki.serving.cert}`,
    `--tls-private-key-file=${o.pki.serving.key}`,
    `--client-ca-file=${o.pki.caCert}`,
    `--service-account-issuer=${serviceAccountIssuer}`,
    `--service-account-key-file=${o.pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${o.pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    `--authorization-mode=${o.rbac ? 'Node,RBAC' : 'AlwaysAllow'}`,
    '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
    '--allow-privileged=true',
    '--profiling=false',
    ...(o.admissionConfig === undefined ? [] : [`--admission-control-config-file=${o.admissionConfig}`]),
  ];
}

/** podSecurityAdmissionConfig is an AdmissionConfiguration making `level` the
 * enforced, audited and warned default for namespaces without PSA labels. */
export function podSecurityAdmissionConfig(level: PodSecurityLevel): object {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [
      {
        name: 'PodSecurity',
        configuration: {
          apiVersion: 'pod-security.admission.config.k8s.io/v1',
          kind: 'PodSecurityConfiguration',
          defaults: {
            enforce: level, 'enforce-version': 'latest',
            audit: level, 'audit-version': 'latest',
            warn: level, 'warn-version': 'latest',
          },
          exemptions: { usernames: [], runtimeClasses: [], namespaces: [] },
        },
      },
    ],
  };
}

/** controllerManagerArgs runs every default controller (garbage collector,
 * Deployments, ReplicaSets, EndpointSlices, service-account tokens, ...) with
 * a per-controller service account, as kubeadm does; no serving port, no
 * leader election, no cloud provider. */
export function controllerManagerArgs(o: { kubeconfig: string; pki: Pki }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    '--controllers=*',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${o.pki.serviceAccountKey}`,
    `--root-ca-file=${o.pki.caCert}`,
    `--cluster-signing-cert-file=${o.pki.caCert}`,
    `--cluster-signing-key-file=${o.pki.caKey}`,
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--allocate-node-cidrs=false',
    '--leader-elect=false',
    '--secure-port=0',
    '--profiling=false',
  ];
}

/** schedulerArgs runs the default scheduler without serving or leader election. */
export function schedulerArgs(o: { kubeconfig: string }): string[] {
  return [`--kubeconfig=${o.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--profiling=false'];
}

/** kwokNodeAnnotation marks Nodes the kwok controller fakes. */
export const kwokNodeAnnotation = 'kwok.x-k8s.io/node';

/** kwokArgs fakes only Nodes annotated kwokNodeAnnotation=fake, with kwok's
 * default stages (Nodes turn Ready, their Pods turn Running and Ready). */
export function kwokArgs(o: { kubeconfig: string; config: string }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--config=${o.config}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation}=fake`,
    '--cidr=10.244.0.1/16',
    '--node-ip=10.0.0.1',
  ];
}

/** fakeNode is a Node kwok adopts: big enough that scheduling never fails on
 * resources, and labelled like a cloud node (zone, region) so topology spread
 * constraints on those keys can be satisfied. */
export function fakeNode(name: string): object {
  const capacity = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [kwokNodeAnnotation]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': 'zone-a',
        'topology.kubernetes.io/region': 'region-1',
        type: 'kwok',
      },
    },
    spec: {},
    status: { allocatable: capacity, capacity },
  };
}
