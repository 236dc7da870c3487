import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseRelay } from '../../operator/src/api/v1alpha1/relay.js';
import { relayModel } from '../../operator/src/desired/model.js';
import { relayPodTemplate } from '../../operator/src/desired/workload.js';
import { resolveContainerEnv } from './env.js';
import { imageKind, ingressServicesReferenced, launchPlan, rewriteNetworkNames, servicesReferenced, type ServiceAddressOf } from './launch.js';

const standIns: Record<string, { host: string; firstPort: number }> = {
  'ns/relay-redis': { host: '127.9.9.2', firstPort: 6379 },
  'ns/relay-0': { host: '127.9.9.3', firstPort: 7781 },
};
const addressOf: ServiceAddressOf = (ref) => standIns[`${ref.namespace}/${ref.name}`];
const settings = { nodeBinary: '/node', relayCli: '/repo/relay/dist/cli.js', redisServer: 'redis-server', ingressDomain: 'e2e.invalid', workDir: '/w' };

describe('imageKind', () => {
  it.each([
    ['ghcr.io/viewport/relay:0.1.0', 'relay'],
    ['viewport-relay:e2e', 'relay'],
    ['registry.local:5000/team/viewport-relay@sha256:abc', 'relay'],
    ['docker.io/valkey/valkey:8.1-alpine', 'redis'],
    ['redis:7', 'redis'],
    ['bitnami/redis-cluster:7', 'redis'],
    ['nginx:1', undefined],
    ['relayer:1', undefined],
    ['registry.invalid/e2e/no-such-redis:1', undefined],
    ['registry.invalid:5000/viewport-relay:1', undefined],
    ['invalid/redis:7', 'redis'],
  ])('%s', (image, kind) => {
    expect(imageKind(image)).toBe(kind);
  });
});

describe('network name shortcuts', () => {
  it('finds Services named by cluster DNS', () => {
    expect(servicesReferenced(['redis://:pw@relay-redis.ns.svc:6379', 'http://a.b.svc.cluster.local/x', 'https://example.com'])).toEqual([
      { namespace: 'ns', name: 'relay-redis' },
      { namespace: 'b', name: 'a' },
    ]);
  });

  it('finds Services named by per-pod public hosts', () => {
    expect(ingressServicesReferenced(['ws://relay-0.e2e.invalid/ws', 'ws://relay-0.example.com/ws'], 'ns', 'e2e.invalid')).toEqual([
      { namespace: 'ns', name: 'relay-0' },
    ]);
  });

  it.each([
    ['cluster DNS keeps the port', 'redis://:pw@relay-redis.ns.svc:6379', 'redis://:pw@127.9.9.2:6379'],
    ['cluster.local suffix', 'redis://relay-redis.ns.svc.cluster.local:6379/0', 'redis://127.9.9.2:6379/0'],
    ['per-pod host gets the Service port', 'ws://relay-0.e2e.invalid/ws', 'ws://127.9.9.3:7781/ws'],
    ['unknown Service stays', 'redis://other.ns.svc:6379', 'redis://other.ns.svc:6379'],
    ['other domains stay', 'ws://relay-0.example.com/ws', 'ws://relay-0.example.com/ws'],
  ])('%s', (_name, text, expected) => {
    expect(rewriteNetworkNames(text, 'ns', 'e2e.invalid', addressOf)).toBe(expected);
  });
});

describe('launchPlan', () => {
  const pod: V1Pod = { metadata: { name: 'p', namespace: 'ns' } };

  it('runs the relay CLI with HOST at the pod address and rewritten URLs', () => {
    const planned = launchPlan(
      pod,
      { name: 'relay', image: 'viewport-relay:e2e', args: ['serve'] },
      { HOST: '0.0.0.0', RELAY_REDIS_URL: 'redis://:pw@relay-redis.ns.svc:6379', RELAY_PUBLIC_WS_BASE_URL: 'ws://relay-0.e2e.invalid/ws' },
      '127.9.9.7',
      settings,
      addressOf,
    );
    expect(planned).toEqual({
      ok: true,
      plan: {
        kind: 'relay',
        command: '/node',
        args: ['/repo/relay/dist/cli.js', 'serve'],
        env: { HOST: '127.9.9.7', RELAY_REDIS_URL: 'redis://:pw@127.9.9.2:6379', RELAY_PUBLIC_WS_BASE_URL: 'ws://127.9.9.3:7781/ws' },
      },
    });
  });

  it('runs redis-server on the container port at the pod address, with $(VAR) args expanded', () => {
    const planned = launchPlan(
      pod,
      { name: 'redis', image: 'valkey/valkey:8', args: ['--requirepass', '$(PW)'], ports: [{ containerPort: 6380 }] },
      { PW: 'pw' },
      '127.9.9.8',
      settings,
      addressOf,
    );
    expect(planned.ok && planned.plan.args).toEqual([
      '--requirepass', 'pw', '--port', '6380', '--bind', '127.9.9.8', '--dir', '/w', '--protected-mode', 'no',
    ]);
  });

  it('runs the operator\'s redis-mode relay pods so peers dial each one where its peer-link listener binds', () => {
    const parsed = parseRelay({
      apiVersion: 'relay.getviewport.com/v1alpha1',
      kind: 'ViewportRelay',
      metadata: { name: 'relay', namespace: 'ns' },
      spec: {
        replicas: 2,
        platform: { validateUrl: 'http://platform.ns.svc:8080/validate', internalKeySecretRef: { name: 'platform', key: 'internal-key' } },
        backplane: { mode: 'redis', redis: { managed: {} } },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const template = relayPodTemplate(relayModel(parsed.relay, { relayImage: 'viewport-relay:e2e' }), 'sum') as { spec: V1Pod['spec'] };
    const container = template.spec!.containers[0]!;
    const secrets = { secretValue: () => 'secret-value-of-24-chars', configMapValue: () => undefined };
    const listeners = ['127.9.9.7', '127.9.9.8'].map((podIP) => {
      const resolved = resolveContainerEnv(pod, container, podIP, secrets);
      if (!resolved.ok) throw new Error(resolved.error);
      const planned = launchPlan(pod, container, resolved.env, podIP, settings, addressOf);
      if (!planned.ok) throw new Error(planned.error);
      const env = planned.plan.env;
      // The relay binds its peer-link listener on HOST and advertises RELAY_PEER_LINK_HOST.
      expect(env.RELAY_PEER_LINK_HOST).toBe(env.HOST);
      return `${env.HOST ?? ''}:${env.RELAY_PEER_LINK_PORT ?? ''}`;
    });
    // Each pod has its own loopback address, so both can use the operator's port.
    expect(listeners).toEqual(['127.9.9.7:8091', '127.9.9.8:8091']);
  });

  it('refuses an image without a stand-in', () => {
    expect(launchPlan(pod, { name: 'x', image: 'nginx:1' }, {}, '127.9.9.9', settings, addressOf)).toEqual({
      ok: false,
      error: 'image nginx:1 has no local stand-in',
    });
  });
});
