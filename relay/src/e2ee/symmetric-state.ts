// Noise symmetric state for the v3 handshake (ck, h, k, n), including the
// handshake AEAD with its little-endian nonce layout. Owned by one handshake;
// the initiator clones it to keep message-1 state until the response arrives.
import { gcm } from '@noble/ciphers/aes.js';
import { concatBytes, utf8 } from './bytes.js';
import { fail, type Result } from './errors.js';
import { hash, noiseHkdf2, noiseHkdf3 } from './kdf.js';

const HASH_LENGTH = 32;
const TAG_LENGTH = 16;
// Noise reserves the all-ones counter value; encrypting with it is refused.
const MAX_NONCE = (1n << 64n) - 1n;

/** handshakeIv lays out counter n as 4 zero bytes then n as uint64 little-endian. */
export function handshakeIv(n: bigint): Uint8Array {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(4, n, true);
  return iv;
}

/** SymmetricState is the Noise (ck, h, k, n) tuple with its operations. */
export class SymmetricState {
  private constructor(
    private ck: Uint8Array,
    private h: Uint8Array,
    private k: Uint8Array | undefined,
    private n: bigint,
  ) {}

  /** SymmetricState.init pads (not hashes) the protocol name, which is at most 32 bytes. */
  static init(name: string): SymmetricState {
    const bytes = utf8(name);
    if (bytes.length > HASH_LENGTH) throw new Error('protocol names longer than 32 bytes are not used here');
    const h = new Uint8Array(HASH_LENGTH);
    h.set(bytes);
    return new SymmetricState(h.slice(), h, undefined, 0n);
  }

  /** clone copies the state so a saved handshake cannot be advanced twice. */
  clone(): SymmetricState {
    return new SymmetricState(this.ck.slice(), this.h.slice(), this.k?.slice(), this.n);
  }

  /** handshakeHash is the current h (the proof once the handshake is complete). */
  handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  mixHash(data: Uint8Array): void {
    this.h = hash(concatBytes(this.h, data));
  }

  mixKey(ikm: Uint8Array): void {
    [this.ck, this.k] = noiseHkdf2(this.ck, ikm);
    this.n = 0n;
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, th, k] = noiseHkdf3(this.ck, ikm);
    this.ck = ck;
    this.mixHash(th);
    this.k = k;
    this.n = 0n;
  }

  /** encryptAndHash seals with AD = h before mixing the ciphertext (tag included). */
  encryptAndHash(plaintext: Uint8Array): Result<{ ciphertext: Uint8Array }> {
    let ciphertext = plaintext;
    if (this.k) {
      if (this.n >= MAX_NONCE) return fail('nonce_exhausted', 'handshake nonce counter is exhausted');
      ciphertext = gcm(this.k, handshakeIv(this.n), this.h).encrypt(plaintext);
      this.n += 1n;
    }
    this.mixHash(ciphertext);
    return { ok: true, ciphertext };
  }

  /** decryptAndHash opens with AD = h, then mixes the received ciphertext. */
  decryptAndHash(ciphertext: Uint8Array): Result<{ plaintext: Uint8Array }> {
    let plaintext = ciphertext;
    if (this.k) {
      if (ciphertext.length < TAG_LENGTH) return fail('decrypt_failed', 'handshake ciphertext is shorter than a tag');
      if (this.n >= MAX_NONCE) return fail('nonce_exhausted', 'handshake nonce counter is exhausted');
      try {
        plaintext = gcm(this.k, handshakeIv(this.n), this.h).decrypt(ciphertext);
      } catch {
        return fail('decrypt_failed', 'handshake message failed authentication');
      }
      this.n += 1n;
    }
    this.mixHash(ciphertext);
    return { ok: true, plaintext };
  }

  /** split returns the two Noise transport keys (used here only as KDF input). */
  split(): [Uint8Array, Uint8Array] {
    return noiseHkdf2(this.ck, new Uint8Array(0));
  }
}
