// The local pod runner on its own: a plain Pod (no operator) runs the real
// relay at its own loopback address with env from a Secret and the downward
// API, turns Ready from the relay's /ready, and on deletion gets SIGTERM and
// is removed. A Redis Deployment behind a Service is reached by DNS name.
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../controlplane/wait.js';
import '../helpers/context.js';
import { dumpOnFailure } from '../helpers/diagnostics.js';
import type { Termination } from './pod-runner.js';

const ctx = inject('e2e');
const namespace = 'runner-plain';
const adminToken = 'runner-test-admin-token-0123456789';

function isReady(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

describe.skipIf(ctx.provider !== 'local')('local pod runner', () => {
  const kc = new KubeConfig();
  kc.loadFromFile(ctx.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  dumpOnFailure(ctx, kc, () => namespace);
  const readPod = (name: string) => core.readNamespacedPod({ name, namespace }).catch(() => undefined);

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'admin' }, stringData: { token: adminToken } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace });
  });

  it('runs a relay pod at its own address, Ready from /ready, env resolved', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'relay' },
        spec: {
          terminationGracePeriodSeconds: 20,
          containers: [
            {
              name: 'relay',
              image: 'example.com/viewport-relay:test',
              args: ['serve'],
              ports: [{ name: 'ws', containerPort: 7781 }],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'RELAY_MODE', value: 'dev' },
                { name: 'RELAY_LISTEN_PORT', value: '7781' },
                { name: 'RELAY_ID', value: '$(POD_NAME)-id' },
                { name: 'RELAY_ENABLE_ADMIN_HTTP', value: '1' },
                { name: 'RELAY_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: 'admin', key: 'token' } } },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 'ws' }, periodSeconds: 5 },
            },
          ],
        },
      },
    });
    const pod = await waitFor('pod relay Ready', async () => {
      const p = await readPod('relay');
      return isReady(p) ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe('local-runner');
    const ip = pod.status?.podIP ?? '';
    expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(ip).not.toBe('127.0.0.1');

    const health = await fetch(`http://${ip}:7781/health`);
    expect(health.status).toBe(200);
    const unauthorised = await fetch(`http://${ip}:7781/state`);
    expect(unauthorised.status).toBe(401);
    const state = await fetch(`http://${ip}:7781/state`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(state.status).toBe(200);
    expect(JSON.stringify(await state.json())).toContain('relay-id');

    await core.deleteNamespacedPod({ name: 'relay', namespace });
    await waitFor('pod relay removed', async () => ((await readPod('relay')) === undefined ? true : undefined), { timeoutMs: 60_000 });
    const terminations = readFileSync(ctx.local?.terminationsPath ?? '', 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Termination)
      .filter((t) => t.namespace === namespace && t.pod === 'relay');
    expect(terminations).toHaveLength(1);
    expect(terminations[0]).toMatchObject({ container: 'relay', graceSeconds: 20, killed: false });
  });

  it('reaches a Redis Deployment through its Service name, and again after the Redis pod is replaced', async () => {
    const labels = { app: 'redis' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'redis' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: 'redis',
                  image: 'docker.io/valkey/valkey:8.1-alpine',
                  args: ['--save', '', '--appendonly', 'no'],
                  ports: [{ name: 'redis', containerPort: 6379 }],
                  readinessProbe: { tcpSocket: { port: 'redis' } },
                },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'redis' }, spec: { selector: labels, ports: [{ name: 'redis', port: 6379, targetPort: 'redis' }] } },
    });
    // A relay in redis backplane mode becomes ready only once its Redis answers.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'relay-redis' },
        spec: {
          containers: [
            {
              name: 'relay',
              image: 'viewport-relay:e2e',
              args: ['serve'],
              ports: [{ name: 'ws', containerPort: 7781 }],
              env: [
                { name: 'RELAY_MODE', value: 'dev' },
                { name: 'RELAY_BACKPLANE_MODE', value: 'redis' },
                { name: 'RELAY_REDIS_URL', value: `redis://redis.${namespace}.svc.cluster.local:6379` },
                { name: 'RELAY_INTERNAL_KEY', value: 'runner-test-internal-key-0123456789' },
                { name: 'RELAY_BUS_HMAC_KEY', value: 'runner-test-bus-hmac-key-0123456789' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 7781 } },
            },
          ],
        },
      },
    });
    await waitFor('relay-redis Ready', async () => (isReady(await readPod('relay-redis')) ? true : undefined));
    const redisPods = await core.listNamespacedPod({ namespace, labelSelector: 'app=redis' });
    await core.deleteNamespacedPod({ name: redisPods.items[0]?.metadata?.name ?? '', namespace });
    await waitFor(
      'a replacement Redis pod Ready',
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=redis' });
        return list.items.some((p) => p.metadata?.deletionTimestamp === undefined && isReady(p) && p.metadata?.name !== redisPods.items[0]?.metadata?.name)
          ? true
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // The relay lost its Redis and reconnected through the same Service address to the new pod.
    const relayLog = join(ctx.local?.runnerDir ?? '', `${namespace}_relay-redis_relay.log`);
    await waitFor('relay-redis to reconnect to Redis', () => (readFileSync(relayLog, 'utf8').includes('backplane_reconnected') ? true : undefined));
    const ip = (await readPod('relay-redis'))?.status?.podIP ?? '';
    await waitFor('relay-redis /ready answering 200 again', async () => ((await fetch(`http://${ip}:7781/ready`)).status === 200 ? true : undefined));
  });
});
