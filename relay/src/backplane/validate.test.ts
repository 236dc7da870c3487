import { describe, expect, it } from 'vitest';
import type { BackplaneOptions } from './backplane.js';
import { effectivePullWaitMs } from './server.js';
import { redisConnectionOptions } from './redis/connection-options.js';
import { compareStreamIds } from './redis/stream-entry.js';
import { scopeKey } from './scope-key.js';
import { validateBackplaneOptions } from './validate.js';

const common = {
  relayId: 'relay-a',
  relayWsBaseUrl: 'ws://127.0.0.1:7781/ws',
  busHmacKey: 'k'.repeat(32),
  busSignatureMaxSkewMs: 15_000,
  busFreshnessTrackMax: 20_000,
  maxFrameBytes: 1 << 20,
  presenceTtlMs: 45_000,
  presenceResolveCacheMax: 10_000,
};
const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'viewport:relay', connectTimeoutMs: 5000, queueMax: 10_000 };
const server = {
  baseUrl: 'http://127.0.0.1:8080',
  internalKey: 'internal-key-internal-key',
  timeoutMs: 2000,
  maxResponseBytes: 262_144,
  pullLimit: 200,
  pullWaitMs: 1000,
  pollIntervalMs: 250,
};

describe('validateBackplaneOptions', () => {
  it.each<[string, BackplaneOptions]>([
    ['single without keys', { ...common, mode: 'single', busHmacKey: undefined, relayWsBaseUrl: '' }],
    ['redis', { ...common, mode: 'redis', redis }],
    ['rediss', { ...common, mode: 'redis', redis: { ...redis, url: 'rediss://:pw@redis.example:6380/2' } }],
    ['server', { ...common, mode: 'server', server }],
  ])('accepts %s', (_name, options) => {
    expect(validateBackplaneOptions(options)).toEqual([]);
  });

  it.each<[string, BackplaneOptions, string[]]>([
    ['redis without HMAC key', { ...common, mode: 'redis', redis, busHmacKey: undefined }, ['BUS_HMAC_KEY_REQUIRED']],
    ['server with a blank HMAC key', { ...common, mode: 'server', server, busHmacKey: '  ' }, ['BUS_HMAC_KEY_REQUIRED']],
    ['redis without redis options', { ...common, mode: 'redis' }, ['REDIS_OPTIONS_REQUIRED']],
    ['redis with an http URL', { ...common, mode: 'redis', redis: { ...redis, url: 'http://x' } }, ['REDIS_URL_INVALID']],
    ['server without server options', { ...common, mode: 'server' }, ['SERVER_OPTIONS_REQUIRED']],
    ['server without internal key', { ...common, mode: 'server', server: { ...server, internalKey: '' } }, ['INTERNAL_KEY_REQUIRED']],
    ['server with a bad URL', { ...common, mode: 'server', server: { ...server, baseUrl: 'nope' } }, ['SERVER_URL_INVALID']],
    ['no relay id', { ...common, mode: 'redis', redis, relayId: '' }, ['RELAY_ID_REQUIRED']],
    ['an http public URL', { ...common, mode: 'redis', redis, relayWsBaseUrl: 'http://x/ws' }, ['PUBLIC_WS_URL_INVALID']],
    ['a zero TTL', { ...common, mode: 'redis', redis, presenceTtlMs: 0 }, ['NUMBER_INVALID']],
  ])('refuses %s', (_name, options, codes) => {
    expect(validateBackplaneOptions(options).map((e) => e.code)).toEqual(codes);
  });

  it('never echoes secrets in messages', () => {
    const options: BackplaneOptions = { ...common, mode: 'redis', busHmacKey: '', redis: { ...redis, url: 'ftp://:hunter2@x' } };
    const text = JSON.stringify(validateBackplaneOptions(options));
    expect(text).not.toContain('hunter2');
  });
});

describe('redisConnectionOptions', () => {
  it('maps a rediss URL with credentials and db to TLS options', () => {
    const o = redisConnectionOptions({ ...redis, url: 'rediss://user:p%40ss@cache.internal:6380/3', tls: { ca: 'PEM' } }, 'n');
    expect(o).toMatchObject({ host: 'cache.internal', port: 6380, username: 'user', password: 'p@ss', db: 3 });
    expect(o.tls).toMatchObject({ servername: 'cache.internal', ca: 'PEM', rejectUnauthorized: true });
  });

  it('uses plain TCP for redis:// and lets an explicit password win', () => {
    const o = redisConnectionOptions({ ...redis, url: 'redis://:inurl@127.0.0.1', password: 'explicit' }, 'n');
    expect(o).toMatchObject({ port: 6379, password: 'explicit', db: 0, enableOfflineQueue: false });
    expect(o.tls).toBeUndefined();
  });

  it('reads Sentinel addresses and the master name from the URL', () => {
    const o = redisConnectionOptions({ ...redis, url: 'redis://:pw@s1.internal:26380/2?sentinel=main&sentinelHost=s2.internal:26381&sentinelHost=s3.internal' }, 'n');
    expect(o).toMatchObject({
      name: 'main',
      sentinels: [
        { host: 's1.internal', port: 26380 },
        { host: 's2.internal', port: 26381 },
        { host: 's3.internal', port: 26379 },
      ],
      password: 'pw',
      db: 2,
      enableTLSForSentinelMode: false,
    });
    expect(o.host).toBeUndefined();
  });

  it('backs off exponentially up to the cap', () => {
    const retry = redisConnectionOptions({ ...redis, reconnectBaseMs: 100, reconnectMaxMs: 1000 }, 'n').retryStrategy!;
    expect([1, 2, 3, 4, 5, 9].map((n) => retry(n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('small pure helpers', () => {
  it.each([
    [{ workspaceId: 'w' }, 'w'],
    [{ workspaceId: 'w', runtimeTargetId: 't' }, 'w:t'],
    [{ workspaceId: 'a:b' }, 'a%3Ab'],
    [{ workspaceId: 'a', runtimeTargetId: 'b' }, 'a:b'],
    [{ workspaceId: 'a', runtimeTargetId: 'b:c' }, 'a:b%3Ac'],
    [{ workspaceId: 'a:b', runtimeTargetId: 'c' }, 'a%3Ab:c'],
  ])('scopeKey(%j) = %s, never colliding', (scope, expected) => {
    expect(scopeKey(scope)).toBe(expected);
  });

  it.each([
    ['1-0', '1-0', 0],
    ['1-1', '1-0', 1],
    ['2-0', '10-0', -1],
    ['1700000000000-5', '1700000000000-12', -1],
  ])('compareStreamIds(%s, %s) = %d', (a, b, expected) => {
    expect(compareStreamIds(a, b)).toBe(expected);
  });

  it.each([
    [1000, 2000, 1000],
    [2000, 2000, 1500],
    [5000, 10_000, 2000],
    [-5, 2000, 0],
  ])('effectivePullWaitMs(%d, timeout %d) = %d, always below the timeout', (configured, timeout, expected) => {
    expect(effectivePullWaitMs(configured, timeout)).toBe(expected);
  });
});
