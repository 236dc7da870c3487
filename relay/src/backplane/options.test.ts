import { describe, expect, it } from 'vitest';
import type { BackplaneOptions } from './backplane.js';
import { validateBackplaneOptions } from './options.js';

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

