// Public exposure: an Ingress, or Gateway API HTTPRoutes (plus a cert-manager
// Certificate for the Gateway listener). In pinned routing each pod gets its
// own host. Objects are sized for the maximum pod count so scale events never
// rewrite them (ingress reloads cut WebSockets).
import type { KubeObject } from '../object.js';
import { childLabels } from './labels.js';
import { podHost, RELAY_PORT, WS_PATH, type RelayModel } from './model.js';

/** HostBackend pairs a public host with the Service that serves it. */
interface HostBackend {
  host: string;
  service: string;
}

/** hostBackends lists the public host and, in pinned routing, every per-pod host. */
export function hostBackends(m: RelayModel): HostBackend[] {
  if (m.host === undefined) return [];
  const out: HostBackend[] = [{ host: m.host, service: m.names.service }];
  const pattern = m.spec.routing?.podHostPattern;
  if (m.pinned && pattern !== undefined) {
    for (const pod of m.podNames) out.push({ host: podHost(pattern, pod), service: pod });
  }
  return out;
}

function issuerAnnotations(m: RelayModel): Record<string, string> {
  const issuer = m.spec.exposure?.tls?.issuerRef;
  if (issuer === undefined) return {};
  const key = issuer.kind === 'Issuer' ? 'cert-manager.io/issuer' : 'cert-manager.io/cluster-issuer';
  return { [key]: issuer.name, ...(issuer.group ? { 'cert-manager.io/issuer-group': issuer.group } : {}) };
}

/** desiredIngress is the networking.k8s.io/v1 Ingress for spec.exposure.ingress. */
export function desiredIngress(m: RelayModel): KubeObject {
  const ingress = m.spec.exposure?.ingress ?? {};
  const hosts = hostBackends(m);
  const annotations = { ...(ingress.annotations ?? {}), ...issuerAnnotations(m) };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      labels: childLabels(m, 'relay'),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ...(ingress.className ? { ingressClassName: ingress.className } : {}),
      ...(m.names.tlsSecret ? { tls: [{ hosts: hosts.map((h) => h.host), secretName: m.names.tlsSecret }] } : {}),
      rules: hosts.map((h) => ({
        host: h.host,
        http: {
          paths: [
            {
              path: WS_PATH,
              pathType: 'Prefix',
              backend: { service: { name: h.service, port: { name: 'ws' } } },
            },
          ],
        },
      })),
    },
  };
}

/** desiredHttpRoutes returns one HTTPRoute per host (a route's hostnames share its backends). */
export function desiredHttpRoutes(m: RelayModel): KubeObject[] {
  const route = m.spec.exposure?.httpRoute;
  if (route === undefined) return [];
  return hostBackends(m).map((h, i) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: i === 0 ? m.name : h.service,
      namespace: m.namespace,
      labels: childLabels(m, 'relay'),
      ...(route.annotations ? { annotations: route.annotations } : {}),
    },
    spec: {
      parentRefs: route.parentRefs,
      hostnames: [h.host],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: WS_PATH } }],
          backendRefs: [{ name: h.service, port: RELAY_PORT }],
        },
      ],
    },
  }));
}

/** desiredCertificate requests the TLS Secret a Gateway listener references (HTTPRoute + issuerRef only). */
export function desiredCertificate(m: RelayModel): KubeObject | undefined {
  const tls = m.spec.exposure?.tls;
  if (m.spec.exposure?.httpRoute === undefined || tls?.issuerRef === undefined || m.names.tlsSecret === undefined) return undefined;
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: m.name, namespace: m.namespace, labels: childLabels(m, 'relay') },
    spec: {
      secretName: m.names.tlsSecret,
      dnsNames: hostBackends(m).map((h) => h.host),
      issuerRef: { name: tls.issuerRef.name, kind: tls.issuerRef.kind ?? 'ClusterIssuer', group: tls.issuerRef.group ?? 'cert-manager.io' },
    },
  };
}
