import { describe, expect, it } from 'vitest';
import { preAdmission, type PreAdmissionConfig, type UpgradeGate } from './pre-admission.js';
import { UPGRADE_REFUSALS } from './upgrade-refusals.js';

const config = (over: { mode?: 'dev' | 'prod'; allowedOrigins?: string[] } = {}): PreAdmissionConfig =>
  ({
    mode: over.mode ?? 'prod',
    limits: { maxTotalConnections: 10, maxConnectionsPerIp: 2 },
    network: { trustedProxies: [], allowedOrigins: over.allowedOrigins ?? [] },
  }) as unknown as PreAdmissionConfig;

/** gate records which reads the checks made, in order. */
function gate(over: Partial<{ draining: boolean; rateOk: boolean; total: number; perIp: number }> = {}) {
  const reads: string[] = [];
  const g: UpgradeGate = {
    get draining() {
      reads.push('draining');
      return over.draining ?? false;
    },
    hitUpgradeRate: () => (reads.push('rate'), over.rateOk ?? true),
    connectionCount: () => (reads.push('total'), over.total ?? 0),
    ipCount: () => (reads.push('ip'), over.perIp ?? 0),
  };
  return { g, reads };
}

const TOKEN = 'a-token-of-some-length';
const request = (over: { url?: string; method?: string; headers?: Record<string, string> } = {}) => ({
  url: over.url ?? '/ws?role=client&workspaceId=w1&runtimeTargetId=t1',
  method: over.method ?? 'GET',
  headers: {
    upgrade: 'websocket',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'sec-websocket-version': '13',
    authorization: `Bearer ${TOKEN}`,
    ...over.headers,
  },
});

const refusal = (r: ReturnType<typeof preAdmission>) => (r.ok ? 'admitted' : r.refusal);

describe('preAdmission (docs/protocol.md#upgrade-checks order, docs/protocol.md#weak-admission-cost)', () => {
  it('passes a well-formed upgrade on with its query and token', () => {
    const r = preAdmission(request(), '192.0.2.1', gate().g, config());
    expect(r).toEqual({ ok: true, query: { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1' }, token: TOKEN });
  });

  it('refuses while draining before spending the upgrade rate', () => {
    const { g, reads } = gate({ draining: true });
    expect(refusal(preAdmission(request(), '192.0.2.1', g, config()))).toBe('draining');
    expect(reads).toEqual(['draining']);
  });

  it('checks the rate, then the total cap, then the per-IP cap', () => {
    const rate = gate({ rateOk: false, total: 99, perIp: 99 });
    expect(refusal(preAdmission(request(), '192.0.2.1', rate.g, config()))).toBe('ip_rate_limited');
    expect(rate.reads).toEqual(['draining', 'rate']);
    const total = gate({ total: 10, perIp: 99 });
    expect(refusal(preAdmission(request(), '192.0.2.1', total.g, config()))).toBe('total_connections');
    expect(total.reads).toEqual(['draining', 'rate', 'total']);
    expect(refusal(preAdmission(request(), '192.0.2.1', gate({ perIp: 2 }).g, config()))).toBe('ip_connections');
  });

  it.each([
    ['another path', { url: '/other' }, 'bad_path'],
    ['a POST', { method: 'POST' }, 'bad_method'],
    ['a bad Upgrade header', { headers: { upgrade: 'h2c' } }, 'bad_handshake'],
    ['a bad query', { url: '/ws?role=admin&workspaceId=w1' }, 'invalid_query'],
    ['no token', { headers: { authorization: '' } }, 'missing_token'],
    ['a query token outside dev', { url: `/ws?role=client&workspaceId=w1&token=${TOKEN}`, headers: { authorization: '' } }, 'query_token_not_allowed'],
  ] as const)('refuses %s', (_name, over, expected) => {
    expect(refusal(preAdmission(request(over), '192.0.2.1', gate().g, config()))).toBe(expected);
  });

  it('refuses a listed-out Origin only when origins are configured', () => {
    const evil = request({ headers: { origin: 'https://evil.example' } });
    expect(refusal(preAdmission(evil, '192.0.2.1', gate().g, config({ allowedOrigins: ['https://app.example'] })))).toBe('origin_not_allowed');
    expect(refusal(preAdmission(evil, '192.0.2.1', gate().g, config()))).toBe('admitted');
  });

  it('takes a query token in dev', () => {
    const r = preAdmission(request({ url: `/ws?role=client&workspaceId=w1&token=${TOKEN}`, headers: { authorization: '' } }), '192.0.2.1', gate().g, config({ mode: 'dev' }));
    expect(r.ok && r.token).toBe(TOKEN);
  });
});

describe('upgrade refusals table', () => {
  it('answers a bad method 405 and other bad handshakes 400, under one label', () => {
    expect(UPGRADE_REFUSALS.bad_method).toMatchObject({ status: 405, label: 'bad_handshake' });
    expect(UPGRADE_REFUSALS.bad_handshake).toMatchObject({ status: 400, label: 'bad_handshake' });
  });
  it('destroys a non-/ws upgrade without a status line', () => {
    expect(UPGRADE_REFUSALS.bad_path.status).toBeNull();
  });
});
