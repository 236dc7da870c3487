import { describe, expect, it } from 'vitest';
import { admissionCacheKey, cacheExpiry, withAdmissionCache } from './cache.js';
import type { AdmissionRequest, AdmissionResult, Admitter } from './types.js';

const req = (over: Partial<AdmissionRequest> = {}): AdmissionRequest => ({ token: 'tok', role: 'client', workspaceId: 'w1', runtimeTargetId: 't1', ...over });
const admitted: AdmissionResult = { ok: true, claims: { workspaceId: 'w1', runtimeTargetId: 't1' } };

/** counting wraps fixed answers and counts calls to the inner admitter. */
function counting(answer: (r: AdmissionRequest) => AdmissionResult): { admit: Admitter; calls: () => number } {
  let n = 0;
  return {
    admit: async (r) => {
      n += 1;
      return answer(r);
    },
    calls: () => n,
  };
}

describe('admissionCacheKey', () => {
  it.each([
    ['another token', req({ token: 'tok2' })],
    ['another role', req({ role: 'workspace-daemon' })],
    ['another workspace', req({ workspaceId: 'w2' })],
    ['another target', req({ runtimeTargetId: 't2' })],
    ['no target', req({ runtimeTargetId: undefined })],
    ['ids that collide when joined', req({ workspaceId: 'w1t', runtimeTargetId: '1' })],
  ])('differs for %s', (_name, other) => {
    expect(admissionCacheKey(other)).not.toBe(admissionCacheKey(req()));
  });

  it('does not contain the token', () => {
    expect(admissionCacheKey(req({ token: 'secret-token-value' }))).not.toContain('secret-token-value');
  });
});

describe('cacheExpiry', () => {
  it.each([
    ['TTL when the token has no exp', undefined, 1_000 + 5_000],
    ['TTL when exp is later', 100, 1_000 + 5_000],
    ['exp when it comes first', 3, 3_000],
  ])('uses the %s', (_name, exp, expected) => {
    expect(cacheExpiry({ workspaceId: 'w1', ...(exp !== undefined ? { exp } : {}) }, 1_000, 5_000)).toBe(expected);
  });
});

describe('withAdmissionCache', () => {
  it('returns the admitter itself when the TTL is 0', () => {
    const inner = counting(() => admitted);
    expect(withAdmissionCache(inner.admit, { ttlMs: 0, maxEntries: 10, now: () => 0 })).toBe(inner.admit);
  });

  it('serves repeats from the cache until the TTL passes', async () => {
    let now = 0;
    let hits = 0;
    const inner = counting(() => admitted);
    const admit = withAdmissionCache(inner.admit, { ttlMs: 1000, maxEntries: 10, now: () => now, onHit: () => (hits += 1) });
    expect(await admit(req())).toEqual(admitted);
    now = 999;
    expect(await admit(req())).toEqual(admitted);
    expect([inner.calls(), hits]).toEqual([1, 1]);
    now = 1000;
    await admit(req());
    expect(inner.calls()).toBe(2);
  });

  it.each([
    ['a denial', { ok: false, status: 401, reason: 'INVALID_TOKEN' }],
    ['an outage', { ok: false, status: 503, reason: 'PLATFORM_UNAVAILABLE' }],
    ['an already expired token', { ok: true, claims: { workspaceId: 'w1', exp: 0 } }],
  ] satisfies Array<[string, AdmissionResult]>)('never caches %s', async (_name, answer) => {
    const inner = counting(() => answer);
    const admit = withAdmissionCache(inner.admit, { ttlMs: 60_000, maxEntries: 10, now: () => 5_000 });
    await admit(req());
    await admit(req());
    expect(inner.calls()).toBe(2);
  });

  it('evicts the oldest entry beyond maxEntries', async () => {
    const inner = counting(() => admitted);
    const admit = withAdmissionCache(inner.admit, { ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    for (const token of ['a', 'b', 'c']) await admit(req({ token }));
    await admit(req({ token: 'c' }));
    await admit(req({ token: 'b' }));
    expect(inner.calls()).toBe(3);
    await admit(req({ token: 'a' }));
    expect(inner.calls()).toBe(4);
  });
});
