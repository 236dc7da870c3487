// Kubeconfig documents for the control plane's users. Credentials are embedded
// (as *-data) so a kubeconfig file can be copied or handed to kubectl alone.
import { stringify } from 'yaml';

/** KubeconfigUser is a client-certificate identity. */
export interface KubeconfigUser {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** kubeconfigYaml renders a single-context kubeconfig for a client-cert `user` against `server`. */
export function kubeconfigYaml(o: { server: string; caPem: string; user: KubeconfigUser; namespace?: string }): string {
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  const credentials = { 'client-certificate-data': b64(o.user.certPem), 'client-key-data': b64(o.user.keyPem) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'e2e', cluster: { server: o.server, 'certificate-authority-data': b64(o.caPem) } }],
    users: [{ name: o.user.name, user: credentials }],
    contexts: [
      { name: 'e2e', context: { cluster: 'e2e', user: o.user.name, ...(o.namespace ? { namespace: o.namespace } : {}) } },
    ],
    'current-context': 'e2e',
  });
}
