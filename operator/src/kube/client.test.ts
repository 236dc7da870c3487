import { describe, expect, it } from 'vitest';
import { microTime } from '../reconcile/events.js';
import { resourcePath } from './client.js';

describe('resourcePath', () => {
  it.each([
    ['v1', 'Secret', 'ns', 'a', '/api/v1/namespaces/ns/secrets/a'],
    ['apps/v1', 'Deployment', 'ns', undefined, '/apis/apps/v1/namespaces/ns/deployments'],
    ['apps/v1', 'StatefulSet', undefined, undefined, '/apis/apps/v1/statefulsets'],
    ['relay.getviewport.com/v1alpha1', 'ViewportRelay', 'ns', 'r', '/apis/relay.getviewport.com/v1alpha1/namespaces/ns/viewportrelays/r'],
    ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'ns', 'r', '/apis/gateway.networking.k8s.io/v1/namespaces/ns/httproutes/r'],
    ['coordination.k8s.io/v1', 'Lease', 'ops', 'l', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/l'],
  ])('%s %s', (apiVersion, kind, ns, name, path) => {
    expect(resourcePath(apiVersion, kind, ns, name)).toBe(path);
  });

  it('refuses kinds outside the table', () => {
    expect(() => resourcePath('v1', 'Pod', 'ns')).toThrow(/unknown kind/);
  });
});

describe('microTime', () => {
  it('has six fractional digits, as MicroTime fields require', () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
  });
});
