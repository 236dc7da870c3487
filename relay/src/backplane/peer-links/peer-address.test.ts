// The signed peer record: accepted only for the relay and key it was signed
// for, within its age window; anything else is refused with a named reason.
import { describe, expect, it } from 'vitest';
import { deriveBusSubkeys } from '../keys.js';
import { encodePeerAddress, readPeerAddress } from './peer-address.js';

const KEY = deriveBusSubkeys('peer-address-test-key').peerAddress;
const NOW = 1_700_000_000_000;
const URL = 'ws://10.0.0.7:8091';
const read = (raw: string, relayId = 'relay-b', nowMs = NOW) => readPeerAddress(raw, KEY, relayId, nowMs, 60_000);
const record = (patch: Record<string, unknown>) => JSON.stringify({ ...(JSON.parse(encodePeerAddress(KEY, 'relay-b', URL, NOW)) as object), ...patch });

describe('peer address records', () => {
  it('round-trips a record signed for the relay, within its age either way', () => {
    const raw = encodePeerAddress(KEY, 'relay-b', URL, NOW);
    expect(JSON.parse(raw)).toMatchObject({ v: 1, relayId: 'relay-b', url: URL, issuedAtMs: NOW });
    for (const nowMs of [NOW, NOW + 60_000, NOW - 60_000]) expect(read(raw, 'relay-b', nowMs)).toEqual({ ok: true, url: URL });
  });

  it.each<[string, string, string]>([
    ['a bare URL (an earlier relay)', URL, 'address_unsigned'],
    ['JSON without a signature', JSON.stringify({ url: URL }), 'address_unsigned'],
    ['not an object', '42', 'address_unsigned'],
    ['another version', record({ v: 2 }), 'address_malformed'],
    ['a URL that is not a string', record({ url: 7 }), 'address_malformed'],
    ['a fractional time', record({ issuedAtMs: NOW + 0.5 }), 'address_malformed'],
    ['a rewritten URL', record({ url: 'ws://10.6.6.6:8091' }), 'address_bad_signature'],
    ['a moved time', record({ issuedAtMs: NOW + 1 }), 'address_bad_signature'],
    ['a signature in non-canonical base64url', record({ signature: `${(JSON.parse(encodePeerAddress(KEY, 'relay-b', URL, NOW)) as { signature: string }).signature}=` }), 'address_bad_signature'],
    ['another key', encodePeerAddress(deriveBusSubkeys('other-key').peerAddress, 'relay-b', URL, NOW), 'address_bad_signature'],
    ['another purpose of the same key', encodePeerAddress(deriveBusSubkeys('peer-address-test-key').presence, 'relay-b', URL, NOW), 'address_bad_signature'],
  ])('refuses %s', (_name, raw, reason) => {
    expect(read(raw)).toEqual({ ok: false, reason });
  });

  it('refuses a genuine record read for another relay, and one older or newer than the window', () => {
    const raw = encodePeerAddress(KEY, 'relay-b', URL, NOW);
    expect(read(raw, 'relay-c')).toEqual({ ok: false, reason: 'address_bad_signature' });
    expect(read(raw, 'relay-b', NOW + 60_001)).toEqual({ ok: false, reason: 'address_stale' });
    expect(read(raw, 'relay-b', NOW - 60_001)).toEqual({ ok: false, reason: 'address_stale' });
  });
});
