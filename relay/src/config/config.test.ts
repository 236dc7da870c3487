import { describe, expect, it } from 'vitest';
import { bindPort, CONFIG_VARIABLES, isIpOrCidr, parseConfig, type ConfigIo } from './index.js';

const io = (files: string[] = []): ConfigIo => ({
  fileExists: (p) => files.includes(p),
  randomHex: () => 'abcdef123456',
  homeDir: '/home/test',
});

const REDIS_ENV = { RELAY_BACKPLANE_MODE: 'redis', RELAY_REDIS_URL: 'redis://127.0.0.1:6379', RELAY_INTERNAL_KEY: 'k', RELAY_BUS_HMAC_KEY: 'h' };

const ok = (env: Record<string, string>, files?: string[]) => {
  const r = parseConfig(env, io(files));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
};
const errors = (env: Record<string, string>, files?: string[]) => {
  const r = parseConfig(env, io(files));
  return r.ok ? [] : r.errors;
};

const STRONG_KEY = 'k'.repeat(32);
const POD_ENV = {
  HOST: '0.0.0.0',
  SERVER_URL: 'https://api.example.com',
  RELAY_PUBLIC_WS_BASE_URL: 'wss://relay-0.example.net/ws',
  RELAY_TLS_TERMINATION: 'platform',
  RELAY_INTERNAL_KEY: STRONG_KEY,
  RELAY_SERVER_AUTH_MODE: 'private_network_shared_secret',
  RELAY_BACKPLANE_MODE: 'single',
};

describe('parseConfig defaults', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = ok({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 7781,
      maxLogs: 400,
      mode: 'dev',
      serverUrl: 'https://api.getviewport.com',
      relayId: '127.0.0.1:7781:abcdef123456',
      admission: { mode: 'remote', validateUrl: 'https://api.getviewport.com/api/runtime/internal/relay/validate', jwtIssuer: 'viewport-server', jwtAudience: 'viewport-relay', jwtAlgorithms: ['RS256', 'ES256', 'EdDSA'] },
      limits: { maxTotalConnections: 2000, maxConnectionsPerIp: 50, maxClientsPerWorkspace: 100, maxFrameBytes: 1048576, maxPendingBytes: 4194304, upgradeRatePerMinute: 120 },
      timers: { pingIntervalMs: 30000, pongTimeoutMs: 10000, idleTimeoutMs: 300000, emptyWorkspaceTtlMs: 120000, cleanupIntervalMs: 30000 },
      backplane: { mode: 'single', busEnabled: false, presenceSyncEnabled: false, clientRedirectEnabled: false },
      admin: { enabled: false, healthVerbose: true, stateIncludeClientIds: true },
    });
    expect(Object.isFrozen(c) && Object.isFrozen(c.limits)).toBe(true);
  });

  it('lists every variable it reads, aliases included', () => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(['PORT', 'RELAY_LISTEN_PORT', 'RELAY_JWKS_URL', 'RELAY_DRAIN_GRACE_MS', 'RELAY_ALLOWED_ORIGINS']));
  });
});

describe('parseConfig names, aliases and modes', () => {
  it.each([
    ['RELAY_LISTEN_PORT alias', { RELAY_LISTEN_PORT: '9000' }, (c: ReturnType<typeof ok>) => c.port === 9000],
    ['PORT wins over its alias', { PORT: '9001', RELAY_LISTEN_PORT: '9000' }, (c: ReturnType<typeof ok>) => c.port === 9001],
    ['validate URL verbatim, SERVER_URL from its origin', { RELAY_VALIDATE_URL: 'http://127.0.0.1:5000/x/validate' }, (c: ReturnType<typeof ok>) => c.admission.validateUrl === 'http://127.0.0.1:5000/x/validate' && c.serverUrl === 'http://127.0.0.1:5000'],
    ['jwks only → jwks mode', { RELAY_JWKS_URL: 'http://127.0.0.1:5000/jwks' }, (c: ReturnType<typeof ok>) => c.admission.mode === 'jwks'],
    ['jwks and validate → jwks+remote', { RELAY_JWKS_URL: 'http://127.0.0.1:5000/jwks', SERVER_URL: 'http://127.0.0.1:5000' }, (c: ReturnType<typeof ok>) => c.admission.mode === 'jwks+remote'],
    ['explicit admission mode', { RELAY_JWKS_URL: 'http://127.0.0.1:5000/jwks', SERVER_URL: 'http://127.0.0.1:5000', RELAY_ADMISSION_MODE: 'jwks' }, (c: ReturnType<typeof ok>) => c.admission.mode === 'jwks'],
    ['internal key implies server mode, bus on by default (docs/protocol.md#weak-bus-off)', { RELAY_INTERNAL_KEY: 'x'.repeat(10), RELAY_BUS_HMAC_KEY: 'h' }, (c: ReturnType<typeof ok>) => c.backplane.mode === 'server' && c.backplane.busEnabled && c.backplane.clientRedirectEnabled],
    ['RELAY_BACKPLANE_URL is the redis URL in redis mode', { RELAY_BACKPLANE_MODE: 'redis', RELAY_BACKPLANE_URL: 'redis://127.0.0.1:6379', RELAY_INTERNAL_KEY: 'k', RELAY_BUS_HMAC_KEY: 'h' }, (c: ReturnType<typeof ok>) => c.backplane.redisUrl === 'redis://127.0.0.1:6379'],
    ['empty boolean counts as unset (docs/protocol.md#weak-config)', { RELAY_ENABLE_ADMIN_HTTP: '' }, (c: ReturnType<typeof ok>) => c.admin.enabled === false],
    ['booleans accept yes/on', { RELAY_ENABLE_ADMIN_HTTP: 'yes', RELAY_HEALTH_VERBOSE: 'off' }, (c: ReturnType<typeof ok>) => c.admin.enabled && !c.admin.healthVerbose],
    ['a pod with explicit URLs infers prod', POD_ENV, (c: ReturnType<typeof ok>) => c.mode === 'prod' && c.admin.healthVerbose === false],
    ['a pod on every address (HOST=::, as the operator sets it) infers prod', { ...POD_ENV, HOST: '::' }, (c: ReturnType<typeof ok>) => c.mode === 'prod' && c.host === '::' && c.publicWsBaseUrl === POD_ENV.RELAY_PUBLIC_WS_BASE_URL],
    ['bus pull wait clamped to 2000', { RELAY_BUS_PULL_WAIT_MS: '5000' }, (c: ReturnType<typeof ok>) => c.backplane.busPullWaitMs === 2000],
    ['trusted proxies with CIDRs', { RELAY_TRUSTED_PROXIES: '10.0.0.0/8, ::1, fd00::/8' }, (c: ReturnType<typeof ok>) => c.network.trustedProxies.length === 3],
    ['peer links: ws URL from host and port', { ...REDIS_ENV, RELAY_PEER_LINK_PORT: '8091', RELAY_PEER_LINK_HOST: '10.1.2.3' }, (c: ReturnType<typeof ok>) => c.backplane.peerLinkPort === 8091 && c.backplane.peerLinkUrl === 'ws://10.1.2.3:8091'],
    ['peer links: an IPv6 pod IP is bracketed', { ...REDIS_ENV, RELAY_PEER_LINK_PORT: '8091', RELAY_PEER_LINK_HOST: 'fd00::7' }, (c: ReturnType<typeof ok>) => c.backplane.peerLinkUrl === 'ws://[fd00::7]:8091'],
    ['peer links off by default', REDIS_ENV, (c: ReturnType<typeof ok>) => c.backplane.peerLinkPort === 0 && c.backplane.peerLinkUrl === undefined],
    ['TLS auto turns on when both files exist', { RELAY_TLS_CERT_PATH: '/c.crt', RELAY_TLS_KEY_PATH: '/c.key' }, (c: ReturnType<typeof ok>) => c.tls.enabled],
  ])('%s', (_name, env, check) => {
    expect(check(ok(env, ['/c.crt', '/c.key']))).toBe(true);
  });
});

describe('parseConfig errors', () => {
  it.each([
    ['bad integer', { PORT: 'eighty' }, 'PORT must be an integer'],
    ['bad alias integer names the alias', { RELAY_LISTEN_PORT: 'x' }, 'RELAY_LISTEN_PORT must be an integer'],
    ['negative limit', { RELAY_MAX_FRAME_BYTES: '-1' }, 'RELAY_MAX_FRAME_BYTES must be an integer'],
    ['bad boolean', { RELAY_BUS_ENABLED: 'maybe' }, 'RELAY_BUS_ENABLED must be one of'],
    ['bad enum', { RELAY_MODE: 'production' }, 'RELAY_MODE must be one of'],
    ['bad URL', { SERVER_URL: 'not a url' }, 'SERVER_URL must be a URL'],
    ['bad algorithm', { RELAY_JWT_ALGORITHMS: 'RS256,none' }, 'RELAY_JWT_ALGORITHMS has 1 invalid'],
    ['bad proxy', { RELAY_TRUSTED_PROXIES: '10.0.0.0/99' }, 'RELAY_TRUSTED_PROXIES has 1 invalid'],
    ['TLS on without files', { RELAY_TLS: '1' }, 'RELAY_TLS=1 but'],
    ['jwks mode without URL', { RELAY_ADMISSION_MODE: 'jwks' }, 'RELAY_JWKS_URL is required'],
    ['server mode without HMAC key', { RELAY_BACKPLANE_MODE: 'server', RELAY_INTERNAL_KEY: 'k' }, 'RELAY_BUS_HMAC_KEY is required'],
    ['peer links outside redis mode', { RELAY_PEER_LINK_PORT: '8091', RELAY_PEER_LINK_HOST: '10.1.2.3' }, 'RELAY_PEER_LINK_PORT needs RELAY_BACKPLANE_MODE=redis'],
    ['peer links without a host', { ...REDIS_ENV, RELAY_PEER_LINK_PORT: '8091' }, 'RELAY_PEER_LINK_HOST (the address other relays dial'],
    ['peer link host that is not one', { ...REDIS_ENV, RELAY_PEER_LINK_PORT: '8091', RELAY_PEER_LINK_HOST: 'a b/c' }, 'RELAY_PEER_LINK_HOST must be a host name or an IP address'],
    ['peer link port out of range', { ...REDIS_ENV, RELAY_PEER_LINK_PORT: '70000', RELAY_PEER_LINK_HOST: '10.1.2.3' }, 'RELAY_PEER_LINK_PORT must be a TCP port'],
    ['redis mode without URL', { RELAY_BACKPLANE_MODE: 'redis', RELAY_INTERNAL_KEY: 'k', RELAY_BUS_HMAC_KEY: 'h' }, 'RELAY_REDIS_URL'],
    ['local URL on a public bind', { HOST: '0.0.0.0', SERVER_URL: 'http://localhost:1' }, 'SERVER_URL names the local host localhost, but HOST=0.0.0.0 listens beyond loopback'],
    [
      'both URLs local on a public bind, as in a container',
      { HOST: '0.0.0.0', SERVER_URL: 'http://127.0.0.1:7781', RELAY_PUBLIC_WS_BASE_URL: 'ws://relay.test:7781/ws' },
      'SERVER_URL names the local host 127.0.0.1 and RELAY_PUBLIC_WS_BASE_URL names the local host relay.test, but HOST=0.0.0.0',
    ],
    ['prod with a placeholder key', { ...POD_ENV, RELAY_INTERNAL_KEY: 'change-me-change-me-change-me' }, 'at least 24 characters'],
    ['prod mtls without verify', { ...POD_ENV, RELAY_SERVER_AUTH_MODE: 'mtls' }, 'mTLS on and RELAY_SERVER_TLS_VERIFY=1'],
    ['prod without TLS', { ...POD_ENV, RELAY_TLS_TERMINATION: 'self' }, 'prod mode needs TLS'],
    ['mTLS files missing', { RELAY_SERVER_MTLS: '1' }, 'RELAY_SERVER_CLIENT_CERT_PATH is required'],
  ])('%s', (_name, env, message) => {
    expect(errors(env).join('\n')).toContain(message);
  });

  it('reports every problem at once', () => {
    expect(errors({ PORT: 'x', RELAY_MODE: 'nope', RELAY_BUS_ENABLED: 'maybe' })).toHaveLength(3);
  });

  it('never echoes a secret value', () => {
    const secret = 'change-me-super-secret-value';
    const all = errors({ ...POD_ENV, RELAY_INTERNAL_KEY: secret, RELAY_ADMIN_TOKEN: secret, RELAY_BUS_HMAC_KEY: secret, RELAY_ENABLE_ADMIN_HTTP: secret });
    expect(all.length).toBeGreaterThan(0);
    expect(all.join('\n')).not.toContain(secret);
  });

  it('names a local URL by its host, never its credentials', () => {
    const all = errors({ HOST: '0.0.0.0', SERVER_URL: 'http://user:change-me-pass@localhost:1/path' }).join('\n');
    expect(all).toContain('the local host localhost');
    expect(all).not.toContain('change-me-pass');
  });
});

describe('isIpOrCidr', () => {
  it.each([
    ['10.0.0.1', true],
    ['10.0.0.0/8', true],
    ['::1', true],
    ['fd00::/8', true],
    ['10.0.0.0/33', false],
    ['host.example', false],
    ['1.2.3.4/8/9', false],
  ])('%s → %s', (entry, expected) => expect(isIpOrCidr(entry)).toBe(expected));
});

describe('bindPort', () => {
  it('names the bound port in a derived relayId and public URL when PORT was 0', () => {
    const bound = bindPort(ok({ PORT: '0' }), 40123);
    expect(bound).toMatchObject({ port: 40123, relayId: '127.0.0.1:40123:abcdef123456', publicWsBaseUrl: 'ws://127.0.0.1:40123/ws' });
    expect(Object.isFrozen(bound)).toBe(true);
  });

  it('keeps an explicit RELAY_ID and RELAY_PUBLIC_WS_BASE_URL', () => {
    const bound = bindPort(ok({ PORT: '0', RELAY_ID: 'relay-a', RELAY_PUBLIC_WS_BASE_URL: 'ws://127.0.0.1:9000/ws' }), 40123);
    expect(bound).toMatchObject({ port: 40123, relayId: 'relay-a', publicWsBaseUrl: 'ws://127.0.0.1:9000/ws' });
  });

  it('leaves a fixed port alone', () => {
    const c = ok({ PORT: '7800' });
    expect(bindPort(c, 7800)).toBe(c);
  });
});
