import { describe, expect, it } from 'vitest';
import { checkRoleClaim } from './admit.js';
import { parseClaims } from './claims.js';
import { crossCheckClaims } from './cross-check.js';
import { extractToken, selectSubprotocol } from './token.js';

const T = 'token-abcdefghij';

describe('extractToken', () => {
  it.each([
    ['bearer header', { authorization: `Bearer ${T}` }, undefined, false, { ok: true, token: T, source: 'bearer' }],
    ['scheme is case-insensitive, value trimmed', { authorization: `bEaReR   ${T}  ` }, undefined, false, { ok: true, token: T, source: 'bearer' }],
    ['malformed header skipped for the subprotocol', { authorization: 'Basic abc', 'sec-websocket-protocol': `v1, auth.${T}` }, undefined, false, { ok: true, token: T, source: 'subprotocol' }],
    ['too-short auth entry skipped', { 'sec-websocket-protocol': `auth.short, auth.${T}` }, undefined, false, { ok: true, token: T, source: 'subprotocol' }],
    ['query token in dev', {}, T, true, { ok: true, token: T, source: 'query' }],
    ['query token outside dev', {}, T, false, { ok: false, reason: 'QUERY_TOKEN_NOT_ALLOWED' }],
    ['nothing', {}, undefined, true, { ok: false, reason: 'MISSING_AUTH_TOKEN' }],
    ['oversize token', { authorization: `Bearer ${'x'.repeat(4097)}` }, undefined, false, { ok: false, reason: 'MISSING_AUTH_TOKEN' }],
  ] as const)('%s', (_n, headers, query, dev, expected) => {
    expect(extractToken(headers, query, dev)).toEqual(expected);
  });

  it('selectSubprotocol prefers a non-auth entry (docs/protocol.md#weak-subprotocol-echo)', () => {
    expect(selectSubprotocol([`auth.${T}`, 'viewport.v1'])).toBe('viewport.v1');
    expect(selectSubprotocol(new Set([`auth.${T}`]))).toBe(`auth.${T}`);
    expect(selectSubprotocol([])).toBe(false);
  });
});

describe('parseClaims', () => {
  it.each([
    ['minimal', { workspaceId: 'w' }, true],
    ['full daemon', { workspaceId: 'w', runtimeTargetId: 't', machineId: 'm', e2eeProfile: 'noise-ikpsk2', daemonIssueGeneration: 3, iss: 'i', aud: ['a'], exp: 1, daemonPublicKey: null }, true],
    ['unknown key', { workspaceId: 'w', extra: 1 }, false],
    ['missing workspace', { runtimeTargetId: 't' }, false],
    ['long workspace', { workspaceId: 'w'.repeat(129) }, false],
    ['bad profile', { workspaceId: 'w', e2eeProfile: 'none' }, false],
    ['negative generation', { workspaceId: 'w', daemonIssueGeneration: -1 }, false],
    ['bad channel', { workspaceId: 'w', sessionChannels: ['other:x'] }, false],
    ['too many channels', { workspaceId: 'w', sessionChannels: Array.from({ length: 65 }, (_, i) => `agent-session:${i}`) }, false],
    ['not an object', 'w', false],
  ])('%s', (_n, value, ok) => {
    expect(parseClaims(value).ok).toBe(ok);
  });
});

describe('crossCheckClaims', () => {
  const q = (role: 'client' | 'workspace-daemon' | 'worker', runtimeTargetId?: string) => ({ role, workspaceId: 'w1', ...(runtimeTargetId ? { runtimeTargetId } : {}) });
  it.each([
    ['blank workspace claim', q('client', 't'), { workspaceId: '  ' }, 'missing workspace claim'],
    ['workspace mismatch', q('client', 't'), { workspaceId: 'w2' }, 'workspace claim mismatch'],
    ['target mismatch', q('client', 't'), { workspaceId: 'w1', runtimeTargetId: 'u' }, 'runtime target claim mismatch'],
    ['bad scope', q('client', 't'), { workspaceId: 'w1', scope: 'root' }, 'invalid scope claim'],
    ['daemon without target', q('workspace-daemon'), { workspaceId: 'w1' }, 'missing runtime target claim'],
    ['pairing without target (docs/protocol.md#weak-pairing-target)', q('client'), { workspaceId: 'w1', scope: 'pairing' }, 'missing runtime target claim'],
  ])('%s closes', (_n, query, claims, reason) => {
    expect(crossCheckClaims(query, claims)).toMatchObject({ ok: false, reason });
  });

  it('resolves the effective target from the claim, else the query; workers have none', () => {
    expect(crossCheckClaims(q('client'), { workspaceId: 'w1', runtimeTargetId: 't' })).toEqual({ ok: true, workspaceId: 'w1', runtimeTargetId: 't', clientScope: 'runtime' });
    expect(crossCheckClaims(q('workspace-daemon', 't'), { workspaceId: ' w1 ' })).toEqual({ ok: true, workspaceId: 'w1', runtimeTargetId: 't', clientScope: undefined });
    expect(crossCheckClaims(q('worker', 't'), { workspaceId: 'w1' })).toMatchObject({ ok: true, runtimeTargetId: undefined });
  });
});

describe('checkRoleClaim (docs/protocol.md#claims)', () => {
  const admitted = (role?: 'client' | 'workspace-daemon' | 'worker') => ({ ok: true as const, claims: { workspaceId: 'w1', ...(role ? { role } : {}) } });
  it.each(['client', 'workspace-daemon', 'worker'] as const)('refuses a token without a role claim asking to be a %s (401)', (role) => {
    expect(checkRoleClaim(admitted(), role)).toEqual({ ok: false, status: 401, reason: 'MISSING_ROLE_CLAIM' });
  });
  it('refuses another role with 403, admits the same role, passes refusals through', () => {
    expect(checkRoleClaim(admitted('client'), 'workspace-daemon')).toEqual({ ok: false, status: 403, reason: 'ROLE_NOT_ALLOWED' });
    expect(checkRoleClaim(admitted('worker'), 'worker')).toEqual(admitted('worker'));
    expect(checkRoleClaim({ ok: false, status: 503, reason: 'JWKS_UNAVAILABLE' }, 'client')).toEqual({ ok: false, status: 503, reason: 'JWKS_UNAVAILABLE' });
  });
});
