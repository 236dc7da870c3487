// desiredChildren: a ViewportRelay → every child manifest, in apply order,
// owned by the relay and stamped with a spec hash. Pure.
import { RELAY_API_VERSION, RELAY_KIND } from '../api/v1alpha1/group.js';
import type { KubeObject, OwnerReference } from '../object.js';
import { relayEnv, secretRefsOf } from './env.js';
import { desiredCertificate, desiredHttpRoutes, desiredIngress } from './exposure.js';
import { withSpecHash } from './hash.js';
import { needsGeneratedSecret, type RelayModel } from './model.js';
import { desiredRelayNetworkPolicy, desiredRedisNetworkPolicy } from './network.js';
import { desiredScaledObject } from './keda.js';
import { desiredHpa, desiredPdb } from './policy.js';
import { desiredRedisDeployment, desiredRedisService } from './redis.js';
import { desiredGeneratedSecret } from './secret.js';
import { desiredHeadlessService, desiredPodServices, desiredService } from './service.js';
import { desiredServiceAccount } from './serviceaccount.js';
import { desiredServiceMonitor } from './servicemonitor.js';
import { desiredRelayWorkload } from './workload.js';

/** DesiredInput is everything the builders need beyond the relay model. */
export interface DesiredInput {
  model: RelayModel;
  /** Values of <name>-generated (from generatedSecretValues). */
  generated: Readonly<Record<string, string>>;
  /** secretsChecksum over every Secret key the pods read. */
  secretsChecksum: string;
}

/** ownerReference makes the relay the controller of a child (garbage collection, Argo CD tree). */
export function ownerReference(m: RelayModel): OwnerReference {
  return { apiVersion: RELAY_API_VERSION, kind: RELAY_KIND, name: m.name, uid: m.uid, controller: true, blockOwnerDeletion: true };
}

/** usedSecretRefs lists every Secret key the relay pods (and managed Redis) read. */
export function usedSecretRefs(m: RelayModel): { name: string; key: string }[] {
  const refs = secretRefsOf(relayEnv(m));
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.name}/${r.key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** referencedSecretNames lists every Secret the relay's spec names (env keys, mTLS, TLS, image pull), for the Secret watch index. */
export function referencedSecretNames(m: RelayModel): string[] {
  const names = [
    ...usedSecretRefs(m).map((r) => r.name),
    m.spec.platform.mtlsSecretName,
    m.names.tlsSecret,
    ...(m.spec.imagePullSecrets ?? []).map((s) => s.name),
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== m.names.generatedSecret))].sort();
}

/** desiredChildren returns every child of the relay, owned and hashed, in apply order. */
export function desiredChildren(input: DesiredInput): KubeObject[] {
  const m = input.model;
  const maybe = (o: KubeObject | undefined): KubeObject[] => (o === undefined ? [] : [o]);
  const children: KubeObject[] = [
    desiredServiceAccount(m),
    ...(needsGeneratedSecret(m) ? [desiredGeneratedSecret(m, input.generated)] : []),
    ...(m.managedRedis ? [desiredRedisService(m), desiredRedisDeployment(m, input.generated)] : []),
    desiredService(m),
    ...(m.pinned ? [desiredHeadlessService(m), ...desiredPodServices(m)] : []),
    desiredRelayWorkload(m, input.secretsChecksum),
    ...maybe(desiredPdb(m)),
    ...maybe(desiredHpa(m)),
    ...maybe(desiredScaledObject(m)),
    ...maybe(desiredRelayNetworkPolicy(m)),
    ...maybe(desiredRedisNetworkPolicy(m)),
    ...(m.spec.exposure?.ingress ? [desiredIngress(m)] : []),
    ...desiredHttpRoutes(m),
    ...maybe(desiredCertificate(m)),
    ...maybe(desiredServiceMonitor(m)),
  ];
  // Without a uid (render, before the API server saw the relay) there is no valid owner to reference.
  const owners = m.uid === '' ? {} : { ownerReferences: [ownerReference(m)] };
  return children.map((c) => withSpecHash({ ...c, metadata: { ...c.metadata, ...owners } }));
}
