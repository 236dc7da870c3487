// Stand-ins for the controllers that publish a relay, which the API-server tier
// does not run: an ingress controller gives every Ingress an address, a gateway
// accepts every HTTPRoute on each of its parents, cert-manager marks every
// Certificate Ready. They poll the operator's children (by its managed-by label)
// in the namespaces they are given and write status the way those controllers
// do, so a relay with exposure can become Ready; a test that wants exposure to
// fail does not start them there.
import { CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { MANAGED_BY_SELECTOR } from '../../operator/src/desired/labels.js';

/** INGRESS_ADDRESS is the address the stand-in ingress controller publishes (TEST-NET-3). */
export const INGRESS_ADDRESS = '203.0.113.10';

interface Listed {
  metadata: { name: string; namespace: string };
  spec?: { parentRefs?: unknown[] };
  status?: { parents?: unknown[]; conditions?: { type: string; status: string }[] };
}

const accepted = (type: string) => ({ type, status: 'True', reason: type, message: `${type} by the stand-in`, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });

const ADDONS = [
  { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' },
  { group: 'cert-manager.io', version: 'v1', plural: 'certificates' },
] as const;

/** addonStatus is what the gateway or cert-manager stand-in writes, undefined when it already did. */
function addonStatus(plural: string, o: Listed): unknown {
  if (plural === 'httproutes' && (o.status?.parents?.length ?? 0) === 0) {
    const parents = (o.spec?.parentRefs ?? []).map((parentRef) => ({ parentRef, controllerName: 'example.com/stand-in-gateway', conditions: [accepted('Accepted'), accepted('ResolvedRefs')] }));
    return { parents };
  }
  if (plural === 'certificates' && !o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return { conditions: [accepted('Ready')] };
  return undefined;
}

/** Namespaces is where the stand-ins act: a list, or every namespace (the local cluster's own ingress). */
type Scope = { has(namespace: string): boolean };
const EVERY_NAMESPACE: Scope = { has: () => true };

/** publishOnce writes every status still missing in namespaces. */
async function publishOnce(kc: KubeConfig, namespaces: Scope): Promise<void> {
  const networking = kc.makeApiClient(NetworkingV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const ing of (await networking.listIngressForAllNamespaces({ labelSelector: MANAGED_BY_SELECTOR })).items) {
    const { name = '', namespace = '' } = ing.metadata ?? {};
    if (!namespaces.has(namespace) || (ing.status?.loadBalancer?.ingress?.length ?? 0) > 0) continue;
    await networking.patchNamespacedIngressStatus({ name, namespace, body: [{ op: 'add', path: '/status/loadBalancer', value: { ingress: [{ ip: INGRESS_ADDRESS }] } }] });
  }
  for (const a of ADDONS) {
    const list = (await custom.listCustomObjectForAllNamespaces({ group: a.group, version: a.version, resourcePlural: a.plural, labelSelector: MANAGED_BY_SELECTOR }).catch(() => ({ items: [] }))) as { items: Listed[] };
    for (const o of list.items) {
      const status = addonStatus(a.plural, o);
      if (!namespaces.has(o.metadata.namespace) || status === undefined) continue;
      await custom.patchNamespacedCustomObject({ ...a, namespace: o.metadata.namespace, name: o.metadata.name, body: [{ op: 'add', path: '/status', value: status }] });
    }
  }
}

/** startExposureStandIns runs the stand-ins over `namespaces` until stop() resolves. */
export function startExposureStandIns(kc: KubeConfig, namespaces: readonly string[] | 'all', intervalMs = 1000): { stop(): Promise<void> } {
  let running = true;
  const scope: Scope = namespaces === 'all' ? EVERY_NAMESPACE : new Set(namespaces);
  const loop = (async () => {
    while (running) {
      // A child deleted between the list and the patch is no failure of the stand-in.
      await publishOnce(kc, scope).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
