// Cross-checks the noble-based toolkit against Node's OpenSSL primitives,
// which is what the reference daemon uses: envelopes sealed by one open with
// the other, and ECDH / HKDF agree on random inputs.
import { createCipheriv, createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dh,
  envelopeAad,
  fromBase64Url,
  keyPairFromPrivate,
  openEnvelope,
  sealEnvelope,
  systemRandom,
  toBase64Url,
  type EnvelopeHeader,
} from '../../src/e2ee/index.js';
import { hkdf32 } from '../../src/e2ee/kdf.js';

function bytes(text: string): Buffer {
  const decoded = fromBase64Url(text);
  if (!decoded.ok) throw new Error(decoded.error.code);
  return Buffer.from(decoded.bytes);
}

const header = fc.record({
  profile: fc.constantFrom('noise-ik' as const, 'noise-ikpsk2' as const),
  sessionId: fc.stringMatching(/^rs_[0-9a-f]{24}$/),
  epoch: fc.integer({ min: 1, max: 1000 }),
  seq: fc.integer({ min: 1, max: 2 ** 40 }),
});

describe('interoperability with node:crypto', () => {
  it('envelopes sealed here open with node:crypto AES-256-GCM', () => {
    fc.assert(
      fc.property(header, fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), (h: EnvelopeHeader, text) => {
        const key = systemRandom(32);
        const sealed = sealEnvelope(key, h, text, systemRandom);
        if (!sealed.ok) throw new Error(sealed.error.code);
        const decipher = createDecipheriv('aes-256-gcm', key, bytes(sealed.frame.iv), { authTagLength: 16 });
        decipher.setAAD(envelopeAad(h));
        decipher.setAuthTag(bytes(sealed.frame.tag));
        const plain = Buffer.concat([decipher.update(bytes(sealed.frame.ciphertext)), decipher.final()]);
        expect(plain.toString('utf8')).toBe(text);
      }),
      { numRuns: 60 },
    );
  });

  it('envelopes sealed by node:crypto open here', () => {
    fc.assert(
      fc.property(header, fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), (h: EnvelopeHeader, text) => {
        const key = randomBytes(32);
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        cipher.setAAD(Buffer.from(`viewport-relay-envelope-v2|${h.profile}|${h.sessionId}|${String(h.epoch)}|${String(h.seq)}`));
        const ct = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
        const frame = { type: 'e2ee' as const, version: 2 as const, ...h, iv: toBase64Url(iv), tag: toBase64Url(cipher.getAuthTag()), ciphertext: toBase64Url(ct) };
        const opened = openEnvelope(key, frame);
        expect(opened.ok && opened.plaintext).toBe(text);
      }),
      { numRuns: 60 },
    );
  });

  it('ECDH gives the same bare X coordinate as node:crypto', () => {
    for (let i = 0; i < 20; i++) {
      const alice = createECDH('prime256v1');
      alice.generateKeys();
      const bob = createECDH('prime256v1');
      bob.generateKeys();
      // Node drops leading zero bytes of private keys; our import left-pads them.
      const ours = keyPairFromPrivate(Buffer.from(alice.getPrivateKey('hex').padStart(64, '0'), 'hex'));
      expect(Buffer.from(ours.publicKey).equals(alice.getPublicKey())).toBe(true);
      expect(Buffer.from(dh(ours.privateKey, bob.getPublicKey())).equals(bob.computeSecret(alice.getPublicKey()))).toBe(true);
    }
  });

  it('HKDF-SHA-256 matches crypto.hkdfSync', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 96 }), fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 80 }), (ikm, salt, info) => {
        const expected = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info), 32));
        expect(Buffer.from(hkdf32(ikm, salt, Buffer.from(info))).equals(expected)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
