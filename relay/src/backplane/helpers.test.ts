import { describe, expect, it } from 'vitest';
import { effectivePullWaitMs } from './server.js';
import { redisConnectionOptions } from './redis/connection-options.js';
import { compareStreamIds } from './redis/stream-entry.js';
import { scopeKey } from './scope-key.js';

const redis = { url: 'redis://127.0.0.1:6379', keyPrefix: 'viewport:relay', connectTimeoutMs: 5000, queueMax: 10_000 };

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
