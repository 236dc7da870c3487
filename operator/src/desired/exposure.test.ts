import { describe, expect, it } from 'vitest';
import { LABELS, modelOf, REDIS_MANAGED } from '../../test/relays.js';
import { desiredCertificate, desiredHttpRoutes, desiredIngress } from './exposure.js';

const meta = { name: 'relay', namespace: 'viewport', labels: LABELS };
const wsPath = (service: string) => ({
  paths: [{ path: '/ws', pathType: 'Prefix', backend: { service: { name: service, port: { name: 'ws' } } } }],
});
const pinned = { backplane: REDIS_MANAGED, replicas: 2, routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' } };

describe('Ingress', () => {
  it('shared: one host, TLS from cert-manager, user annotations kept', () => {
    const m = modelOf({
      exposure: {
        host: 'relay.example.com',
        tls: { issuerRef: { name: 'le' } },
        ingress: { className: 'nginx', annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' } },
      },
    });
    expect(desiredIngress(m)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        ...meta,
        annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600', 'cert-manager.io/cluster-issuer': 'le' },
      },
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['relay.example.com'], secretName: 'relay-tls' }],
        rules: [{ host: 'relay.example.com', http: wsPath('relay') }],
      },
    });
  });

  it('pinned: one rule per pod host to that pod’s Service, all hosts on the certificate', () => {
    const m = modelOf({ ...pinned, exposure: { host: 'relay.example.com', tls: { secretName: 'wild' }, ingress: {} } });
    expect(desiredIngress(m)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta,
      spec: {
        tls: [{ hosts: ['relay.example.com', 'relay-0.relay.example.com', 'relay-1.relay.example.com'], secretName: 'wild' }],
        rules: [
          { host: 'relay.example.com', http: wsPath('relay') },
          { host: 'relay-0.relay.example.com', http: wsPath('relay-0') },
          { host: 'relay-1.relay.example.com', http: wsPath('relay-1') },
        ],
      },
    });
  });

  it('uses the namespaced issuer annotation for kind Issuer', () => {
    const m = modelOf({ exposure: { host: 'r.example.com', tls: { issuerRef: { name: 'local', kind: 'Issuer' } }, ingress: {} } });
    expect(desiredIngress(m).metadata.annotations).toEqual({ 'cert-manager.io/issuer': 'local' });
  });
});

describe('HTTPRoute and Certificate', () => {
  const parentRefs = [{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }];
  const route = (name: string, host: string, service: string) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'viewport', labels: LABELS },
    spec: {
      parentRefs,
      hostnames: [host],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/ws' } }], backendRefs: [{ name: service, port: 7781 }] }],
    },
  });

  it('shared: one route', () => {
    expect(desiredHttpRoutes(modelOf({ exposure: { host: 'relay.example.com', httpRoute: { parentRefs } } }))).toEqual([
      route('relay', 'relay.example.com', 'relay'),
    ]);
  });

  it('pinned: a route per pod host', () => {
    const m = modelOf({ ...pinned, exposure: { host: 'relay.example.com', httpRoute: { parentRefs } } });
    expect(desiredHttpRoutes(m)).toEqual([
      route('relay', 'relay.example.com', 'relay'),
      route('relay-0', 'relay-0.relay.example.com', 'relay-0'),
      route('relay-1', 'relay-1.relay.example.com', 'relay-1'),
    ]);
  });

  it('requests a Certificate for the Gateway listener when an issuer is named', () => {
    const m = modelOf({ exposure: { host: 'relay.example.com', tls: { issuerRef: { name: 'le' } }, httpRoute: { parentRefs } } });
    expect(desiredCertificate(m)).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta,
      spec: {
        secretName: 'relay-tls',
        dnsNames: ['relay.example.com'],
        issuerRef: { name: 'le', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
  });

  it.each([
    ['ingress exposure', { exposure: { host: 'r.example.com', tls: { issuerRef: { name: 'le' } }, ingress: {} } }],
    ['secret without issuer', { exposure: { host: 'r.example.com', tls: { secretName: 's' }, httpRoute: { parentRefs } } }],
  ])('no Certificate for %s', (_name, spec) => {
    expect(desiredCertificate(modelOf(spec))).toBeUndefined();
  });
});
