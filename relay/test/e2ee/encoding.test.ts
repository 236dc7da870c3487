// base64url codec and key decoding edge cases (docs/e2ee-protocol.md#conventions,
// docs/e2ee-protocol.md#keys, docs/e2ee-protocol.md#pitfalls-encoding).
import { describe, expect, it } from 'vitest';
import { decodePrivateKey, decodePublicKey, fromBase64Url, parseE2eeFrameText, toBase64Url } from '../../src/e2ee/index.js';

describe('base64url', () => {
  it.each([0, 1, 2, 3, 16, 32, 65, 81])('round-trips %i bytes with the documented lengths', (n) => {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
    const text = toBase64Url(bytes);
    expect(text).not.toContain('=');
    expect(Buffer.from(text, 'base64url').equals(Buffer.from(bytes))).toBe(true);
    const back = fromBase64Url(text);
    expect(back.ok && Buffer.from(back.bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it('accepts trailing padding', () => {
    const back = fromBase64Url('AAE=');
    expect(back.ok && [...back.bytes]).toEqual([0, 1]);
  });

  it.each(['AA+B', 'AA/B', 'AA B', 'A', 'AAAAA', 'é'])('refuses %j', (text) => {
    const back = fromBase64Url(text);
    expect(back.ok ? 'ok' : back.error.code).toBe('bad_base64url');
  });
});

describe('keys', () => {
  it('left-pads a short private key', () => {
    const short = toBase64Url(Uint8Array.of(1, 2, 3));
    const key = decodePrivateKey(short);
    expect(key.ok && key.privateKey.length).toBe(32);
    expect(key.ok && [...key.privateKey.slice(29)]).toEqual([1, 2, 3]);
  });

  it.each([
    ['empty', ''],
    ['33 bytes', toBase64Url(new Uint8Array(33).fill(1))],
    ['zero scalar', toBase64Url(new Uint8Array(32))],
    ['scalar >= n', toBase64Url(new Uint8Array(32).fill(0xff))],
  ])('refuses a %s private key', (_name, text) => {
    const key = decodePrivateKey(text);
    expect(key.ok ? 'ok' : key.error.code).toBe('bad_private_key');
  });

  it.each([
    ['a 64-byte key', toBase64Url(new Uint8Array(64).fill(4)), 'bad_public_key'],
    ['a hybrid-prefixed key', toBase64Url(new Uint8Array(65).fill(6)), 'bad_public_key'],
    ['a 33-byte compressed key', toBase64Url(Uint8Array.from({ length: 33 }, (_, i) => (i === 0 ? 2 : 1))), 'compressed_public_key'],
  ])('refuses %s', (_name, text, code) => {
    const key = decodePublicKey(text);
    expect(key.ok ? 'ok' : key.error.code).toBe(code);
  });
});

describe('parseE2eeFrameText', () => {
  it.each([
    ['not JSON', '{', 'bad_frame'],
    ['an array', '[]', 'bad_frame'],
    ['an unknown profile', '{"type":"e2ee","version":2,"profile":"noise-xx"}', 'bad_profile'],
    ['a string epoch', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":"1","seq":1,"iv":"a","tag":"b","ciphertext":"c"}', 'bad_frame'],
    ['seq 0', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1,"seq":0,"iv":"a","tag":"b","ciphertext":"c"}', 'bad_seq'],
    ['a blank ciphertext', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1,"seq":1,"iv":"a","tag":"b","ciphertext":" "}', 'bad_frame'],
    ['an ikpsk2 init without pairingPeerId', '{"type":"relay_key_exchange_init","version":3,"profile":"noise-ikpsk2","requestId":"r","clientEphemeralPublicKey":"a","encryptedClientStatic":"b"}', 'missing_pairing_peer_id'],
    ['a v4 init', '{"type":"relay_key_exchange_init","version":4,"profile":"noise-ik"}', 'bad_frame'],
    ['a response with epoch 0', '{"type":"relay_key_exchange_response","version":3,"profile":"noise-ik","epoch":0}', 'bad_frame'],
  ])('refuses %s', (_name, text, code) => {
    const parsed = parseE2eeFrameText(text);
    expect(parsed.ok ? 'ok' : parsed.error.code).toBe(code);
  });

  it('ignores unknown fields and treats a non-string pairingPeerId as absent', () => {
    const parsed = parseE2eeFrameText(
      '{"type":"relay_key_exchange_init","version":3,"profile":"noise-ik","requestId":"r","clientEphemeralPublicKey":"a","encryptedClientStatic":"b","pairingPeerId":5,"extra":true}',
    );
    expect(parsed.ok && parsed.frame).toEqual({
      type: 'relay_key_exchange_init',
      version: 3,
      profile: 'noise-ik',
      requestId: 'r',
      clientEphemeralPublicKey: 'a',
      encryptedClientStatic: 'b',
    });
  });
});
