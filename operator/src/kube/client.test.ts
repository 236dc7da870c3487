import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microTime } from '../reconcile/events.js';
import { ClientKube, inlineKubeConfig, resourcePath } from './client.js';

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
    expect(() => resourcePath('v1', 'ConfigMap', 'ns')).toThrow(/unknown kind/);
  });
});

describe('microTime', () => {
  it('has six fractional digits, as MicroTime fields require', () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
  });
});


interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: string;
}

/** A fake API server on 127.0.0.1 that records requests and answers from a route table. */
describe('ClientKube against a fake API server', () => {
  const seen: Seen[] = [];
  let server: Server;
  let kube: ClientKube;
  const routes: Record<string, { status: number; body: unknown }> = {
    'GET /api/v1/namespaces/ns/secrets/there': { status: 200, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'there' } } },
    'GET /api/v1/namespaces/ns/secrets/gone': { status: 404, body: { kind: 'Status', reason: 'NotFound', message: 'secrets "gone" not found' } },
    'GET /apis/apps/v1/namespaces/ns/deployments?labelSelector=a%3Db': { status: 200, body: { metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'd' } }] } },
    'PATCH /apis/apps/v1/namespaces/ns/deployments/d?fieldManager=viewport-relay-operator&force=true': { status: 200, body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 2 } } },
    'PATCH /apis/relay.getviewport.com/v1alpha1/namespaces/ns/viewportrelays/r/status?fieldManager=viewport-relay-operator&force=true': { status: 200, body: { metadata: { name: 'r' } } },
    'PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/l?fieldManager=viewport-relay-operator': { status: 409, body: { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' } },
    'DELETE /api/v1/namespaces/ns/services/s': { status: 200, body: { kind: 'Status', status: 'Success' } },
  };

  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => resolve(body));
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      void read(req).then((body) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], auth: req.headers.authorization, body });
        const route = routes[`${req.method} ${req.url}`] ?? { status: 500, body: { reason: 'InternalError', message: `no route ${req.method} ${req.url}` } };
        res.writeHead(route.status, { 'content-type': 'application/json' }).end(JSON.stringify(route.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kube = new ClientKube(inlineKubeConfig({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'test-token', skipTLSVerify: true }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('get returns the object, or undefined on NotFound', async () => {
    expect(await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'there' })).toMatchObject({ ok: true, value: { metadata: { name: 'there' } } });
    expect(await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'gone' })).toEqual({ ok: true, value: undefined });
    expect(seen.at(-1)!.auth).toBe('Bearer test-token');
  });

  it('list passes the selector and restores apiVersion/kind on items', async () => {
    expect(await kube.list('apps/v1', 'Deployment', { namespace: 'ns', labelSelector: 'a=b' })).toEqual({
      ok: true,
      value: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }],
    });
  });

  it('apply is server-side apply with our field manager and force', async () => {
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' }, spec: { custom: { kept: true } } };
    expect(await kube.apply(obj)).toMatchObject({ ok: true, value: { metadata: { generation: 2 } } });
    const req = seen.at(-1)!;
    expect(req.method).toBe('PATCH');
    expect(req.contentType).toBe('application/apply-patch+yaml');
    expect(JSON.parse(req.body)).toEqual(obj);
  });

  it('applyStatus targets the status subresource', async () => {
    const res = await kube.applyStatus({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', metadata: { name: 'r', namespace: 'ns' }, status: { paused: false } });
    expect(res.ok).toBe(true);
  });

  it('replace surfaces a 409 as a value', async () => {
    const res = await kube.replace({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' } });
    expect(res).toEqual({ ok: false, error: { status: 409, reason: 'Conflict', message: 'the object has been modified' } });
  });

  it('delete sends a uid precondition', async () => {
    expect(await kube.delete({ apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 's' }, 'uid-1')).toEqual({ ok: true, value: undefined });
    expect(JSON.parse(seen.at(-1)!.body)).toMatchObject({ preconditions: { uid: 'uid-1' }, propagationPolicy: 'Background' });
  });

  it('network errors are values too', async () => {
    const res = await new ClientKube(inlineKubeConfig({ server: 'http://127.0.0.1:1' })).get({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 'a' });
    expect(res).toMatchObject({ ok: false, error: { status: undefined, reason: 'NetworkError' } });
  });
});
