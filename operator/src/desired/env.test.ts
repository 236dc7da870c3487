import { describe, expect, it } from 'vitest';
import { modelOf, PLATFORM, REDIS_MANAGED } from '../../test/relays.js';
import { CLUSTER_PROXY_RANGES, relayEnv, type EnvVar } from './env.js';

// Flatten env to name → value | "secret:<name>/<key>" | "field:<path>" for readable tables.
function flat(env: EnvVar[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const v = e.valueFrom as { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } | undefined;
    out[e.name] = v?.secretKeyRef ? `secret:${v.secretKeyRef.name}/${v.secretKeyRef.key}` : v?.fieldRef ? `field:${v.fieldRef.fieldPath}` : (e.value ?? '');
  }
  return out;
}

const base = {
  POD_NAME: 'field:metadata.name',
  HOST: '::',
  RELAY_LISTEN_PORT: '7781',
  RELAY_MODE: 'prod',
  RELAY_ID: 'field:metadata.name',
  RELAY_TLS_TERMINATION: 'platform',
  RELAY_VALIDATE_URL: PLATFORM.validateUrl,
  RELAY_INTERNAL_KEY: 'secret:viewport-platform/internal-key',
  RELAY_SERVER_AUTH_MODE: 'private_network_shared_secret',
  RELAY_ENABLE_ADMIN_HTTP: '1',
  RELAY_ADMIN_TOKEN: 'secret:relay-generated/admin-token',
  RELAY_DRAIN_GRACE_MS: '30000',
};

describe('relayEnv', () => {
  it.each([
    [
      'minimal single relay, in-cluster endpoint',
      {},
      { ...base, RELAY_PUBLIC_WS_BASE_URL: 'ws://relay.viewport.svc:7781/ws', RELAY_BACKPLANE_MODE: 'single', RELAY_CLIENT_REDIRECT_ENABLED: '0' },
    ],
    [
      'managed redis behind a TLS host: bus on, password expanded into the URL, no redirect behind one URL',
      { backplane: REDIS_MANAGED, replicas: 2, exposure: { host: 'relay.example.com', tls: { secretName: 't' }, ingress: {} }, drain: { gracePeriodSeconds: 60 } },
      {
        ...base,
        RELAY_PUBLIC_WS_BASE_URL: 'wss://relay.example.com/ws',
        RELAY_BACKPLANE_MODE: 'redis',
        REDIS_PASSWORD: 'secret:relay-generated/redis-password',
        RELAY_REDIS_URL: 'redis://:$(REDIS_PASSWORD)@relay-redis.viewport.svc:6379',
        RELAY_BUS_ENABLED: '1',
        RELAY_BUS_HMAC_KEY: 'secret:relay-generated/bus-hmac-key',
        RELAY_PEER_LINK_PORT: '8091',
        RELAY_PEER_LINK_HOST: 'field:status.podIP',
        RELAY_CLIENT_REDIRECT_ENABLED: '0',
        RELAY_DRAIN_GRACE_MS: '60000',
        RELAY_TRUSTED_PROXIES: CLUSTER_PROXY_RANGES.join(','),
      },
    ],
    [
      'external redis, user secrets, admin off, extra env, peer links off',
      {
        backplane: {
          mode: 'redis',
          redis: { external: { urlSecretRef: { name: 'r', key: 'url' } }, keyPrefix: 'p' },
          busHmacKeySecretRef: { name: 'b', key: 'k' },
          peerLinks: { enabled: false, port: 9000 },
        },
        admin: { enabled: false },
        pod: { env: [{ name: 'RELAY_MAX_TOTAL_CONNECTIONS', value: '5000' }] },
      },
      {
        ...base,
        RELAY_ENABLE_ADMIN_HTTP: '0',
        RELAY_ADMIN_TOKEN: undefined,
        RELAY_PUBLIC_WS_BASE_URL: 'ws://relay.viewport.svc:7781/ws',
        RELAY_BACKPLANE_MODE: 'redis',
        RELAY_REDIS_URL: 'secret:r/url',
        RELAY_REDIS_KEY_PREFIX: 'p',
        RELAY_BUS_ENABLED: '1',
        RELAY_BUS_HMAC_KEY: 'secret:b/k',
        RELAY_CLIENT_REDIRECT_ENABLED: '0',
        RELAY_MAX_TOTAL_CONNECTIONS: '5000',
      },
    ],
    [
      'server backplane over mTLS, URL defaults to the platform origin, JWKS set',
      { backplane: { mode: 'server' }, platform: { ...PLATFORM, jwksUrl: 'https://api.example.com/jwks', authMode: 'mtls', mtlsSecretName: 'c' } },
      {
        ...base,
        RELAY_JWKS_URL: 'https://api.example.com/jwks',
        RELAY_SERVER_AUTH_MODE: 'mtls',
        RELAY_SERVER_MTLS: '1',
        RELAY_SERVER_TLS_VERIFY: '1',
        RELAY_SERVER_CLIENT_CERT_PATH: '/etc/viewport/platform-tls/tls.crt',
        RELAY_SERVER_CLIENT_KEY_PATH: '/etc/viewport/platform-tls/tls.key',
        RELAY_PUBLIC_WS_BASE_URL: 'ws://relay.viewport.svc:7781/ws',
        RELAY_BACKPLANE_MODE: 'server',
        RELAY_BACKPLANE_URL: 'https://api.example.com',
        RELAY_BUS_ENABLED: '1',
        RELAY_BUS_HMAC_KEY: 'secret:relay-generated/bus-hmac-key',
        RELAY_CLIENT_REDIRECT_ENABLED: '0',
      },
    ],
    [
      'pinned: per-pod public URL from the pod name, redirect on by default, peer links on their own port',
      {
        backplane: { ...REDIS_MANAGED, peerLinks: { port: 9000 } },
        replicas: 2,
        routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' },
        exposure: { host: 'relay.example.com', tls: { secretName: 't' }, ingress: {} },
      },
      {
        ...base,
        RELAY_PUBLIC_WS_BASE_URL: 'wss://$(POD_NAME).relay.example.com/ws',
        RELAY_BACKPLANE_MODE: 'redis',
        REDIS_PASSWORD: 'secret:relay-generated/redis-password',
        RELAY_REDIS_URL: 'redis://:$(REDIS_PASSWORD)@relay-redis.viewport.svc:6379',
        RELAY_BUS_ENABLED: '1',
        RELAY_BUS_HMAC_KEY: 'secret:relay-generated/bus-hmac-key',
        RELAY_PEER_LINK_PORT: '9000',
        RELAY_PEER_LINK_HOST: 'field:status.podIP',
        RELAY_CLIENT_REDIRECT_ENABLED: '1',
        RELAY_TRUSTED_PROXIES: CLUSTER_PROXY_RANGES.join(','),
        RELAY_REDIRECT_ALLOWED_HOSTS: 'relay.example.com,relay-0.relay.example.com,relay-1.relay.example.com',
        RELAY_TLS_HOST: 'relay.example.com',
      },
    ],
  ])('%s', (_name, spec, expected) => {
    const want = Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined));
    expect(flat(relayEnv(modelOf(spec)))).toEqual(want);
  });

  it('defines POD_NAME and REDIS_PASSWORD before the values that expand them', () => {
    const names = relayEnv(modelOf({ backplane: REDIS_MANAGED, replicas: 2, routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' }, exposure: { host: 'r.example.com', ingress: {} } })).map((e) => e.name);
    expect(names.indexOf('POD_NAME')).toBeLessThan(names.indexOf('RELAY_PUBLIC_WS_BASE_URL'));
    expect(names.indexOf('REDIS_PASSWORD')).toBeLessThan(names.indexOf('RELAY_REDIS_URL'));
  });

  const valueOf = (spec: Record<string, unknown>, name: string): string | undefined => flat(relayEnv(modelOf(spec)))[name];
  const gateway = { host: 'relay.example.com', httpRoute: { parentRefs: [{ name: 'gw' }] } };

  it('trusts the cluster ranges as proxies behind a Gateway too, none without Ingress or Gateway', () => {
    expect(valueOf({ exposure: gateway }, 'RELAY_TRUSTED_PROXIES')).toBe(CLUSTER_PROXY_RANGES.join(','));
    expect(valueOf({ exposure: { host: 'relay.example.com' } }, 'RELAY_TRUSTED_PROXIES')).toBeUndefined();
    expect(valueOf({}, 'RELAY_TRUSTED_PROXIES')).toBeUndefined();
  });

  it('exposure.trustedProxies replaces the default; [] trusts no proxy (LoadBalancer with externalTrafficPolicy Local)', () => {
    expect(valueOf({ exposure: { ...gateway, trustedProxies: ['10.8.0.0/14', 'fd00:1::/64'] } }, 'RELAY_TRUSTED_PROXIES')).toBe('10.8.0.0/14,fd00:1::/64');
    expect(valueOf({ exposure: { ...gateway, trustedProxies: [] } }, 'RELAY_TRUSTED_PROXIES')).toBeUndefined();
  });

  it('a value in spec.pod.env wins without a duplicate entry (server-side apply refuses duplicate names)', () => {
    const env = relayEnv(modelOf({ exposure: gateway, pod: { env: [{ name: 'RELAY_TRUSTED_PROXIES', value: '10.1.2.3' }] } }));
    expect(env.filter((e) => e.name === 'RELAY_TRUSTED_PROXIES')).toEqual([{ name: 'RELAY_TRUSTED_PROXIES', value: '10.1.2.3' }]);
  });

  it('pinned routing with redirect off, in staging, or shared routing: no redirect host list', () => {
    const pinned = {
      backplane: REDIS_MANAGED,
      replicas: 2,
      routing: { mode: 'pinned', podHostPattern: '{pod}.relay.example.com' },
      exposure: { host: 'relay.example.com', ingress: {} },
    };
    expect(valueOf({ ...pinned, clientRedirect: { enabled: false } }, 'RELAY_REDIRECT_ALLOWED_HOSTS')).toBeUndefined();
    expect(valueOf({ ...pinned, clientRedirect: { enabled: false } }, 'RELAY_TLS_HOST')).toBeUndefined();
    // Staging and dev relays redirect to any host: no list (it would refuse local test addresses).
    expect(valueOf({ ...pinned, relayMode: 'staging' }, 'RELAY_REDIRECT_ALLOWED_HOSTS')).toBeUndefined();
    expect(valueOf(pinned, 'RELAY_REDIRECT_ALLOWED_HOSTS')).toBe('relay.example.com,relay-0.relay.example.com,relay-1.relay.example.com');
    expect(valueOf({ backplane: REDIS_MANAGED, replicas: 2, clientRedirect: { enabled: true }, exposure: { host: 'relay.example.com', ingress: {} } }, 'RELAY_REDIRECT_ALLOWED_HOSTS')).toBeUndefined();
  });

  it('pinned routing with autoscaling lists a host for every pod up to maxReplicas', () => {
    const hosts = valueOf(
      {
        backplane: REDIS_MANAGED,
        autoscaling: { minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 70 },
        routing: { mode: 'pinned', podHostPattern: '{pod}.r.example.com' },
        exposure: { host: 'r.example.com', ingress: {} },
      },
      'RELAY_REDIRECT_ALLOWED_HOSTS',
    );
    expect(hosts).toBe('r.example.com,relay-0.r.example.com,relay-1.r.example.com,relay-2.r.example.com');
  });
});
