import { describe, expect, it } from 'vitest';
import { createClientIpResolver } from './client-ip.js';
import { checkHandshakeHeaders } from './handshake.js';
import { parseUpgradeQuery } from './query.js';

describe('client IP (docs/protocol.md#weak-client-ip)', () => {
  const resolve = createClientIpResolver(['10.0.0.0/8', '::1']);
  it.each([
    ['untrusted peer ignores XFF', '203.0.113.9', '1.2.3.4', '203.0.113.9'],
    ['v4-mapped address normalised', '::ffff:203.0.113.9', undefined, '203.0.113.9'],
    ['trusted proxy: right-most untrusted hop', '10.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.1', '198.51.100.7'],
    ['trusted proxy without XFF', '10.0.0.2', undefined, '10.0.0.2'],
    ['all hops trusted: left-most', '::1', '10.1.1.1, 10.2.2.2', '10.1.1.1'],
    ['garbage hop: fall back to the socket', '10.0.0.2', 'nonsense, 10.0.0.1', '10.0.0.2'],
  ])('%s', (_n, remote, xff, expected) => {
    expect(resolve(remote, xff)).toBe(expected);
  });
  it('with no trusted proxies XFF is never read', () => {
    expect(createClientIpResolver([])('10.0.0.2', '1.2.3.4')).toBe('10.0.0.2');
  });
});

describe('parseUpgradeQuery', () => {
  const p = (s: string) => parseUpgradeQuery(new URLSearchParams(s));
  it.each([
    ['daemon', 'role=workspace-daemon&workspaceId=w1&runtimeTargetId=t.1:x-y_z', true],
    ['extra params ignored', 'role=client&workspaceId=w1&foo=bar', true],
    ['missing workspace', 'role=client', false],
    ['bad role', 'role=admin&workspaceId=w1', false],
    ['empty target', 'role=client&workspaceId=w1&runtimeTargetId=', false],
    ['slash in id', 'role=client&workspaceId=w/1', false],
    ['repeated key', 'role=client&workspaceId=w1&workspaceId=w2', false],
  ])('%s', (_n, query, ok) => {
    expect(p(query).ok).toBe(ok);
  });
});

describe('checkHandshakeHeaders', () => {
  const ok = { upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
  it.each([
    ['valid', 'GET', ok, { ok: true }],
    ['POST', 'POST', ok, { ok: false, status: 405 }],
    ['bad upgrade', 'GET', { ...ok, upgrade: 'h2c' }, { ok: false, status: 400 }],
    ['bad key', 'GET', { ...ok, 'sec-websocket-key': 'short' }, { ok: false, status: 400 }],
    ['bad version', 'GET', { ...ok, 'sec-websocket-version': '7' }, { ok: false, status: 400 }],
  ])('%s', (_n, method, headers, expected) => {
    expect(checkHandshakeHeaders({ method, headers })).toEqual(expected);
  });
});
