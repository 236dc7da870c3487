// The bus key's subkeys: fixed values (so every relay version derives the same
// ones), one per purpose, none equal to the raw key.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUS_KEY_PURPOSES, deriveBusSubkey, deriveBusSubkeys, type BusKeyPurpose } from './keys.js';

const KEY = 'test-bus-key';

// RFC 5869 by hand (one block: 32 bytes), apart from node's hkdfSync.
function hkdfByHand(ikm: string, info: string): string {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm, 'utf8').digest();
  return createHmac('sha256', prk).update(info, 'utf8').update(Buffer.from([1])).digest('hex');
}

describe('deriveBusSubkeys', () => {
  const subkeys = deriveBusSubkeys(KEY);

  it('is HKDF-SHA256 of the key with an empty salt and the purpose label', () => {
    for (const purpose of Object.keys(BUS_KEY_PURPOSES) as BusKeyPurpose[]) {
      expect(subkeys[purpose].toString('hex'), purpose).toBe(hkdfByHand(KEY, BUS_KEY_PURPOSES[purpose]));
      expect(subkeys[purpose]).toHaveLength(32);
    }
  });

  it('has the documented check value', () => {
    expect(subkeys.linkProof.toString('hex')).toBe(LINK_PROOF_CHECK);
  });

  it('gives every purpose its own key, none the raw key, and the same from a string or its bytes', () => {
    const all = Object.values(subkeys).map((key) => key.toString('hex'));
    expect(new Set(all).size).toBe(Object.keys(BUS_KEY_PURPOSES).length);
    expect(all).not.toContain(Buffer.from(KEY.padEnd(32, '\0')).toString('hex'));
    expect(deriveBusSubkey(Buffer.from(KEY, 'utf8'), 'presence')).toEqual(subkeys.presence);
    expect(deriveBusSubkey(`${KEY}x`, 'presence').equals(subkeys.presence)).toBe(false);
  });

  it('labels each purpose viewport-relay/<purpose>/v1', () => {
    expect(Object.values(BUS_KEY_PURPOSES).every((label) => /^viewport-relay\/[a-z-]+\/v1$/.test(label))).toBe(true);
  });
});

const LINK_PROOF_CHECK = '3633c0e7425b1355b059d905f4ba07889dcb3873eeb757ad8476d2ead110e8b1';
