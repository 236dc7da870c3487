// How a relay connects to Redis: the backplane's Redis settings (URL, TLS,
// password, Sentinel, backoff) mapped to ioredis options for one connection.
// Pure and apart from the connections themselves, so it is unit-tested.
import type { RedisOptions } from 'ioredis';
import type { BackplaneOptions } from '../backplane.js';

export type RedisBackplaneOptions = NonNullable<BackplaneOptions['redis']>;

/**
 * sentinelAddresses reads Sentinel mode from the URL: `?sentinel=<master name>`
 * makes the URL's host the first Sentinel, and each `sentinelHost=host:port`
 * adds another. Null when the URL names a Redis server directly.
 */
export function sentinelAddresses(url: URL): { name: string; sentinels: { host: string; port: number }[] } | null {
  const name = url.searchParams.get('sentinel');
  if (!name) return null;
  const parse = (hostPort: string) => {
    const at = hostPort.lastIndexOf(':');
    const host = (at > 0 ? hostPort.slice(0, at) : hostPort).replace(/^\[(.*)\]$/, '$1');
    return { host, port: at > 0 ? Number(hostPort.slice(at + 1)) : 26379 };
  };
  const first = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 26379 };
  return { name, sentinels: [first, ...url.searchParams.getAll('sentinelHost').map(parse)] };
}

/**
 * redisConnectionOptions maps the backplane's Redis settings to ioredis options
 * for one connection. Pure, so URL, TLS, password and Sentinel handling are unit-tested.
 */
export function redisConnectionOptions(redis: RedisBackplaneOptions, connectionName: string): RedisOptions {
  const url = new URL(redis.url);
  const isTls = url.protocol === 'rediss:';
  const db = Number.parseInt(url.pathname.replace(/^\//, '') || '0', 10);
  const base = redis.reconnectBaseMs ?? 250;
  const max = redis.reconnectMaxMs ?? 10_000;
  const password = redis.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const tls = redis.tls;
  const retryStrategy = (attempt: number) => Math.min(base * 2 ** Math.max(0, attempt - 1), max);
  const sentinel = sentinelAddresses(url);
  return {
    ...(sentinel
      ? { sentinels: sentinel.sentinels, name: sentinel.name, sentinelRetryStrategy: retryStrategy, enableTLSForSentinelMode: isTls }
      : { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 6379 }),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    db: Number.isInteger(db) ? db : 0,
    connectionName,
    connectTimeout: redis.connectTimeoutMs,
    keepAlive: 5000,
    lazyConnect: true,
    // Fail fast while disconnected: a publish then returns false and the relay
    // answers DAEMON_UNAVAILABLE instead of queueing frames without bound.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy,
    tls: isTls
      ? {
          // Behind Sentinel the URL names a Sentinel, not the server whose certificate is checked.
          servername: tls?.servername ?? (sentinel ? undefined : url.hostname),
          ca: tls?.ca,
          cert: tls?.cert,
          key: tls?.key,
          passphrase: tls?.passphrase,
          rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        }
      : undefined,
  };
}
