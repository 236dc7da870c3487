import { describe, expect, it } from 'vitest';
import { deriveBusSubkeys } from '../keys.js';
import { checkPresence, signPresence } from './presence-signature.js';

const key = deriveBusSubkeys('presence-test-key-0123456789').presence;
const scope = { workspaceId: 'w', runtimeTargetId: 't' };
const NOW = 5_000_000;
const record = { relayId: 'relay-a', relayWsBaseUrl: 'wss://a.example/ws', machineId: 'm1', updatedAtMs: NOW - 1000 };
const fresh = { nowMs: NOW, maxAgeMs: 60_000, maxSkewMs: 15_000 };

describe('signed presence', () => {
  it('accepts a record signed for its scope and fresh', () => {
    expect(checkPresence(key, scope, record, signPresence(key, scope, record), fresh)).toBeNull();
  });

  it('refuses an unsigned record, and one whose relay, redirect host, scope or time were changed', () => {
    const sig = signPresence(key, scope, record);
    expect(checkPresence(key, scope, record, undefined, fresh)).toBe('unsigned');
    expect(checkPresence(key, scope, { ...record, relayId: 'attacker' }, sig, fresh)).toBe('invalid_signature');
    expect(checkPresence(key, scope, { ...record, relayWsBaseUrl: 'wss://evil.example/ws' }, sig, fresh)).toBe('invalid_signature');
    expect(checkPresence(key, { ...scope, runtimeTargetId: 'other' }, record, sig, fresh)).toBe('invalid_signature');
    expect(checkPresence(key, scope, { ...record, updatedAtMs: NOW }, sig, fresh)).toBe('invalid_signature');
    expect(checkPresence(key, scope, record, `${sig}=`, fresh)).toBe('invalid_signature');
    expect(checkPresence(deriveBusSubkeys('presence-test-key-0123456789').busEntry, scope, record, sig, fresh)).toBe('invalid_signature');
  });

  it('refuses a genuine record older than the presence TTL plus skew, or from the future', () => {
    const old = { ...record, updatedAtMs: NOW - 60_001 };
    expect(checkPresence(key, scope, old, signPresence(key, scope, old), fresh)).toBe('stale');
    const future = { ...record, updatedAtMs: NOW + 15_001 };
    expect(checkPresence(key, scope, future, signPresence(key, scope, future), fresh)).toBe('stale');
  });
});
