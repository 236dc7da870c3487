import { describe, expect, it } from 'vitest';
import { modelOf, PLATFORM, REDIS_MANAGED } from '../../test/relays.js';
import { relayEnv, type EnvVar } from './env.js';

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
});
