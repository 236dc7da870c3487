import { describe, expect, it } from 'vitest';
import { DEFAULT_RELAY_IMAGE, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults', () => {
    const res = loadConfig({}, { POD_NAMESPACE: 'ops', POD_NAME: 'op-0' });
    expect(res).toMatchObject({
      ok: true,
      config: { namespaces: [], leaderElect: true, leaseName: 'viewport-relay-operator', leaseNamespace: 'ops', identity: 'op-0', metricsPort: 8080, healthPort: 8081, relayImage: DEFAULT_RELAY_IMAGE },
    });
    expect(DEFAULT_RELAY_IMAGE).toMatch(/^ghcr\.io\/viewport\/relay:\d+\.\d+\.\d+/);
  });

  it('flags win over environment', () => {
    const res = loadConfig(
      { namespaces: 'a, b', relayImage: 'x:1', leaderElect: 'false' },
      { VIEWPORT_OPERATOR_NAMESPACES: 'c', VIEWPORT_RELAY_IMAGE: 'y:2', VIEWPORT_OPERATOR_LEADER_ELECT: 'true' },
    );
    expect(res).toMatchObject({ ok: true, config: { namespaces: ['a', 'b'], relayImage: 'x:1', leaderElect: false } });
  });

  it('reads the environment', () => {
    const res = loadConfig({}, { VIEWPORT_OPERATOR_NAMESPACES: 'c', VIEWPORT_RELAY_IMAGE: 'y:2', VIEWPORT_OPERATOR_LEADER_ELECT: '0' });
    expect(res).toMatchObject({ ok: true, config: { namespaces: ['c'], relayImage: 'y:2', leaderElect: false } });
  });

  it('reads the resync period as a duration', () => {
    expect(loadConfig({ resyncPeriod: '30s', leaderElect: 'false' }, {})).toMatchObject({ ok: true, config: { resyncMs: 30_000 } });
    expect(loadConfig({ leaderElect: 'false' }, { VIEWPORT_OPERATOR_RESYNC_PERIOD: '2m' })).toMatchObject({ ok: true, config: { resyncMs: 120_000 } });
    expect(loadConfig({ leaderElect: 'false' }, {})).toMatchObject({ ok: true, config: { resyncMs: 600_000 } });
    expect(loadConfig({ resyncPeriod: '0s', leaderElect: 'false' }, {})).toMatchObject({ ok: false, errors: [expect.stringContaining('--resync-period')] });
  });

  it('takes the log level from --log-level, else VIEWPORT_OPERATOR_LOG_LEVEL, else info', () => {
    const env = { POD_NAMESPACE: 'ops' };
    expect(loadConfig({}, env)).toMatchObject({ ok: true, config: { logLevel: 'info' } });
    expect(loadConfig({}, { ...env, VIEWPORT_OPERATOR_LOG_LEVEL: 'warn' })).toMatchObject({ ok: true, config: { logLevel: 'warn' } });
    expect(loadConfig({ logLevel: 'DEBUG' }, { ...env, VIEWPORT_OPERATOR_LOG_LEVEL: 'warn' })).toMatchObject({ ok: true, config: { logLevel: 'debug' } });
    expect(loadConfig({ logLevel: 'verbose' }, env)).toEqual({ ok: false, errors: ['--log-level: expected one of debug, info, warn, error, got "verbose"'] });
  });

  it('lists every error at once', () => {
    const res = loadConfig({ namespaces: 'Bad_NS', leaderElect: 'maybe', metricsPort: '70000' }, {});
    expect(res).toEqual({
      ok: false,
      errors: [
        '--namespaces: "Bad_NS" is not a namespace name',
        '--leader-elect: expected true or false, got "maybe"',
        '--lease-namespace (or POD_NAMESPACE) is required with leader election',
        '--metrics-port: expected a port 0-65535, got "70000"',
      ],
    });
  });
});
