// The two KDFs of the protocol. They are easy to mix up: the Noise HKDF chains
// HMACs inside the handshake; RFC 5869 HKDF makes the final session keys and
// every v2 key.
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from './bytes.js';

/** hash is SHA-256. */
export function hash(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** hmacSha256 is HMAC-SHA-256. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha256, key, data);
}

/** noiseHkdf2 returns the first two Noise HKDF outputs for chaining key `ck`. */
export function noiseHkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const t = hmacSha256(ck, ikm);
  const o1 = hmacSha256(t, Uint8Array.of(0x01));
  const o2 = hmacSha256(t, concatBytes(o1, Uint8Array.of(0x02)));
  return [o1, o2];
}

/** noiseHkdf3 returns the three Noise HKDF outputs for chaining key `ck`. */
export function noiseHkdf3(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const t = hmacSha256(ck, ikm);
  const o1 = hmacSha256(t, Uint8Array.of(0x01));
  const o2 = hmacSha256(t, concatBytes(o1, Uint8Array.of(0x02)));
  const o3 = hmacSha256(t, concatBytes(o2, Uint8Array.of(0x03)));
  return [o1, o2, o3];
}

/** hkdf32 is RFC 5869 HKDF-SHA-256 with a 32-byte output. */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  return hkdf(sha256, ikm, salt, info, 32);
}
