// The backplane adapter's options, built from the relay config, and the one
// check of them: main builds them, refuses to start on any problem, and only
// then creates the adapter, so cross-relay forwarding can never be silently
// off (docs/protocol.md#weak-bus-off). The check is pure; messages never contain secret values.
import { readFileSync } from 'node:fs';
import type { BackplaneOptions } from './backplane.js';
import { createPlatformTls } from '../platform/tls.js';
import type { Config } from '../config/index.js';

/** BackplaneOptionCode is a stable reason for a refused backplane configuration. */
export type BackplaneOptionCode =
  | 'RELAY_ID_REQUIRED'
  | 'PUBLIC_WS_URL_INVALID'
  | 'BUS_HMAC_KEY_REQUIRED'
  | 'REDIS_OPTIONS_REQUIRED'
  | 'REDIS_URL_INVALID'
  | 'SERVER_OPTIONS_REQUIRED'
  | 'SERVER_URL_INVALID'
  | 'INTERNAL_KEY_REQUIRED'
  | 'NUMBER_INVALID';

/** BackplaneOptionError explains one refused setting; messages never contain secret values. */
export interface BackplaneOptionError {
  readonly code: BackplaneOptionCode;
  readonly message: string;
}

/**
 * backplaneOptions maps the relay config to the adapter's options; readPem loads
 * the rediss:// CA once. A server-mode https platform gets the platform TLS
 * source, which re-reads rotated client certificates.
 */
export function backplaneOptions(config: Config, readPem: (path: string) => string = (f) => readFileSync(f, 'utf8')): BackplaneOptions {
  const b = config.backplane;
  return {
    mode: b.mode,
    relayId: config.relayId,
    relayWsBaseUrl: config.publicWsBaseUrl,
    busHmacKey: b.busHmacKey,
    busSignatureMaxSkewMs: b.busSignatureMaxSkewMs,
    busFreshnessTrackMax: b.busFreshnessTrackMax,
    maxFrameBytes: config.limits.maxFrameBytes,
    presenceTtlMs: b.redisPresenceTtlMs,
    presenceResolveCacheMax: b.presenceResolveCacheMax,
    ...(b.mode === 'redis' && b.redisUrl !== undefined
      ? {
          redis: {
            url: b.redisUrl,
            keyPrefix: b.redisKeyPrefix,
            connectTimeoutMs: b.redisConnectTimeoutMs,
            queueMax: b.redisQueueMax,
            queueMaxBytes: b.redisQueueMaxBytes,
            livenessLapseMs: b.redisLivenessLapseMs,
            confirmDelivery: true,
            ...(b.redisTlsCaPath !== undefined ? { tls: { ca: readPem(b.redisTlsCaPath) } } : {}),
            ...(b.peerLinkPort > 0 && b.peerLinkUrl !== undefined ? { peerLinks: { host: config.host, port: b.peerLinkPort, url: b.peerLinkUrl } } : {}),
          },
        }
      : {}),
    ...(b.mode === 'server'
      ? {
          server: {
            baseUrl: config.serverUrl,
            internalKey: config.platform.internalKey ?? '',
            timeoutMs: config.platform.internalApiTimeoutMs,
            maxResponseBytes: config.platform.internalApiMaxResponseBytes,
            pullLimit: b.busPullLimit,
            pullWaitMs: b.busPullWaitMs,
            pollIntervalMs: b.busPollIntervalMs,
            ...(config.serverUrl.startsWith('https:') ? { tls: createPlatformTls(config.platform) } : {}),
          },
        }
      : {}),
  };
}

function hasScheme(value: string, schemes: readonly string[]): boolean {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** validateBackplaneOptions returns every problem with options; an empty list means usable. */
export function validateBackplaneOptions(options: BackplaneOptions): BackplaneOptionError[] {
  const errors: BackplaneOptionError[] = [];
  const fail = (code: BackplaneOptionCode, message: string) => errors.push({ code, message });
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) fail('NUMBER_INVALID', `${name} must be a positive number`);
  };
  positive('busSignatureMaxSkewMs', options.busSignatureMaxSkewMs);
  positive('busFreshnessTrackMax', options.busFreshnessTrackMax);
  positive('maxFrameBytes', options.maxFrameBytes);
  positive('presenceTtlMs', options.presenceTtlMs);
  if (options.mode === 'single') return errors;

  if (!options.relayId.trim()) fail('RELAY_ID_REQUIRED', `backplane mode ${options.mode} needs a relay id (RELAY_ID)`);
  if (!hasScheme(options.relayWsBaseUrl, ['ws:', 'wss:'])) {
    fail('PUBLIC_WS_URL_INVALID', `backplane mode ${options.mode} needs a ws:// or wss:// public URL (RELAY_PUBLIC_WS_BASE_URL)`);
  }
  if (!options.busHmacKey?.trim()) {
    fail('BUS_HMAC_KEY_REQUIRED', `backplane mode ${options.mode} forwards frames between relays and needs RELAY_BUS_HMAC_KEY`);
  }
  if (options.mode === 'redis') {
    if (!options.redis) {
      fail('REDIS_OPTIONS_REQUIRED', 'backplane mode redis needs RELAY_REDIS_URL');
    } else {
      if (!hasScheme(options.redis.url, ['redis:', 'rediss:'])) {
        fail('REDIS_URL_INVALID', 'RELAY_REDIS_URL must be a redis:// or rediss:// URL');
      }
      positive('redis.connectTimeoutMs', options.redis.connectTimeoutMs);
      positive('redis.queueMax', options.redis.queueMax);
    }
  }
  if (options.mode === 'server') {
    if (!options.server) {
      fail('SERVER_OPTIONS_REQUIRED', 'backplane mode server needs SERVER_URL and RELAY_INTERNAL_KEY');
    } else {
      if (!hasScheme(options.server.baseUrl, ['http:', 'https:'])) fail('SERVER_URL_INVALID', 'SERVER_URL must be an http:// or https:// URL');
      if (!options.server.internalKey.trim()) fail('INTERNAL_KEY_REQUIRED', 'backplane mode server needs RELAY_INTERNAL_KEY');
      positive('server.timeoutMs', options.server.timeoutMs);
      positive('server.maxResponseBytes', options.server.maxResponseBytes);
      positive('server.pullLimit', options.server.pullLimit);
      positive('server.pollIntervalMs', options.server.pollIntervalMs);
    }
  }
  return errors;
}
