// Client configurations for identities other than admin, derived from an
// admin KubeConfig: service-account tokens and impersonated users.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

function currentClusterOf(admin: KubeConfig) {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no current cluster');
  return cluster;
}

/** kubeConfigForServiceAccount mints a token for namespace/name with the
 * TokenRequest API and returns a config that authenticates with it alone. */
export async function kubeConfigForServiceAccount(
  admin: KubeConfig,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const cluster = currentClusterOf(admin);
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}

/** kubeConfigAsUser returns admin's config impersonating `user`, who then has
 * only what RBAC grants that user and system:authenticated. */
export function kubeConfigAsUser(admin: KubeConfig, user: string): KubeConfig {
  const adminUser = admin.getCurrentUser();
  if (adminUser === null) throw new Error('admin kubeconfig has no current user');
  const cluster = currentClusterOf(admin);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ ...adminUser, name: user, impersonateUser: user }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}
