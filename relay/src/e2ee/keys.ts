// P-256 keys as the protocol carries them: 32-byte big-endian scalars and
// 65-byte uncompressed SEC1 points. Compressed and hybrid encodings are
// refused everywhere, never converted, because the transcript hashes the
// exact 65 bytes.
import { p256 } from '@noble/curves/nist.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { fail, type Result } from './errors.js';
import type { RandomSource } from './random.js';

/** PUBLIC_KEY_LENGTH is the size of an uncompressed P-256 point. */
export const PUBLIC_KEY_LENGTH = 65;
/** PRIVATE_KEY_LENGTH is the size of a P-256 scalar. */
export const PRIVATE_KEY_LENGTH = 32;

/** KeyPair holds a scalar and its uncompressed public point. */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** checkPublicKey accepts only 65-byte 0x04 points that lie on the curve. */
export function checkPublicKey(bytes: Uint8Array): Result<{ publicKey: Uint8Array }> {
  if (bytes.length === 33 && (bytes[0] === 0x02 || bytes[0] === 0x03)) {
    return fail('compressed_public_key', 'compressed public keys are not accepted');
  }
  if (bytes.length !== PUBLIC_KEY_LENGTH || bytes[0] !== 0x04) {
    return fail('bad_public_key', `public key must be ${PUBLIC_KEY_LENGTH} bytes starting with 0x04`);
  }
  try {
    // fromBytes rejects points that are not on the curve (and the identity).
    p256.Point.fromBytes(bytes);
  } catch {
    return fail('off_curve_public_key', 'public key is not a point on P-256');
  }
  return { ok: true, publicKey: bytes };
}

/** decodePublicKey turns base64url text into a validated public key. */
export function decodePublicKey(text: string): Result<{ publicKey: Uint8Array }> {
  const decoded = fromBase64Url(text);
  if (!decoded.ok) return decoded;
  return checkPublicKey(decoded.bytes);
}

/** checkPrivateKey left-pads short scalars to 32 bytes and requires 1 <= d < n. */
export function checkPrivateKey(bytes: Uint8Array): Result<{ privateKey: Uint8Array }> {
  if (bytes.length === 0 || bytes.length > PRIVATE_KEY_LENGTH) {
    return fail('bad_private_key', `private key must be 1..${PRIVATE_KEY_LENGTH} bytes`);
  }
  const padded = new Uint8Array(PRIVATE_KEY_LENGTH);
  padded.set(bytes, PRIVATE_KEY_LENGTH - bytes.length);
  if (!p256.utils.isValidSecretKey(padded)) return fail('bad_private_key', 'private key is out of range');
  return { ok: true, privateKey: padded };
}

/** decodePrivateKey turns base64url text into a validated 32-byte scalar. */
export function decodePrivateKey(text: string): Result<{ privateKey: Uint8Array }> {
  const decoded = fromBase64Url(text);
  if (!decoded.ok) return decoded;
  return checkPrivateKey(decoded.bytes);
}

/** keyPairFromPrivate derives the uncompressed public key of a validated scalar. */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  return { privateKey, publicKey: p256.getPublicKey(privateKey, false) };
}

/** importKeyPair decodes a base64url scalar and derives its public key. */
export function importKeyPair(privateKeyText: string): Result<{ keyPair: KeyPair }> {
  const checked = decodePrivateKey(privateKeyText);
  if (!checked.ok) return checked;
  return { ok: true, keyPair: keyPairFromPrivate(checked.privateKey) };
}

/** generateKeyPair draws a scalar from `random`, retrying the rare out-of-range draw. */
export function generateKeyPair(random: RandomSource): KeyPair {
  for (;;) {
    const candidate = random(PRIVATE_KEY_LENGTH);
    if (p256.utils.isValidSecretKey(candidate)) return keyPairFromPrivate(candidate);
  }
}

/** dh is plain ECDH: the 32-byte X coordinate of priv·pub. `pub` must already be validated. */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  // getSharedSecret returns a compressed point (prefix byte + X); the protocol wants X only.
  return p256.getSharedSecret(privateKey, publicKey, true).subarray(1);
}

/** encodeKey is the wire form (unpadded base64url) of a key. */
export function encodeKey(bytes: Uint8Array): string {
  return toBase64Url(bytes);
}
