// The `e2ee` v2 envelope (docs/e2ee-protocol.md#envelope): AES-256-GCM under the session
// key with a random 12-byte IV, the tag in its own field, and an AAD that binds
// profile, sessionId, epoch and seq. Strict on open: 12-byte IV, 16-byte tag.
import { gcm } from '@noble/ciphers/aes.js';
import { fromBase64Url, toBase64Url } from './base64url.js';
import { concatBytes, decodeUtf8, utf8 } from './bytes.js';
import { fail, type Result } from './errors.js';
import type { EnvelopeFrame } from './frames.js';
import type { Profile } from './profiles.js';
import type { RandomSource } from './random.js';

/** ENVELOPE_IV_LENGTH is the only IV size accepted. */
export const ENVELOPE_IV_LENGTH = 12;
/** ENVELOPE_TAG_LENGTH is the only tag size accepted; truncated tags are refused. */
export const ENVELOPE_TAG_LENGTH = 16;

/** EnvelopeHeader is the authenticated cleartext of one envelope. */
export interface EnvelopeHeader {
  readonly profile: Profile;
  readonly sessionId: string;
  readonly epoch: number;
  readonly seq: number;
}

/** envelopeAad is the additional data bound into every envelope. */
export function envelopeAad(h: EnvelopeHeader): Uint8Array {
  return utf8(`viewport-relay-envelope-v2|${h.profile}|${h.sessionId}|${String(h.epoch)}|${String(h.seq)}`);
}

/** sealEnvelope encrypts UTF-8 text into an envelope; empty text is refused (the relay drops it). */
export function sealEnvelope(
  key: Uint8Array,
  header: EnvelopeHeader,
  plaintext: string,
  random: RandomSource,
): Result<{ frame: EnvelopeFrame }> {
  if (plaintext.length === 0) return fail('empty_plaintext', 'empty plaintexts cannot be relayed');
  if (!Number.isSafeInteger(header.seq) || header.seq < 1) return fail('bad_seq', 'seq must be an integer >= 1');
  const iv = random(ENVELOPE_IV_LENGTH);
  const sealed = gcm(key, iv, envelopeAad(header)).encrypt(utf8(plaintext));
  const split = sealed.length - ENVELOPE_TAG_LENGTH;
  const frame = envelopeFrame(header, toBase64Url(iv), toBase64Url(sealed.subarray(split)), toBase64Url(sealed.subarray(0, split)));
  return { ok: true, frame };
}

/** envelopeFrame lays out an envelope's fields in the reference's order. */
export function envelopeFrame(header: EnvelopeHeader, iv: string, tag: string, ciphertext: string): EnvelopeFrame {
  const { profile, sessionId, epoch, seq } = header;
  return { type: 'e2ee', version: 2, profile, sessionId, epoch, seq, iv, tag, ciphertext };
}

/** openEnvelope authenticates and decrypts an envelope, rebuilding the AAD from its own fields. */
export function openEnvelope(key: Uint8Array, frame: EnvelopeFrame): Result<{ plaintext: string }> {
  const iv = fromBase64Url(frame.iv);
  if (!iv.ok || iv.bytes.length !== ENVELOPE_IV_LENGTH) return fail('bad_iv', 'envelope iv must be 12 bytes');
  const tag = fromBase64Url(frame.tag);
  if (!tag.ok || tag.bytes.length !== ENVELOPE_TAG_LENGTH) return fail('bad_tag', 'envelope tag must be 16 bytes');
  const ciphertext = fromBase64Url(frame.ciphertext);
  if (!ciphertext.ok) return ciphertext;
  let bytes: Uint8Array;
  try {
    bytes = gcm(key, iv.bytes, envelopeAad(frame)).decrypt(concatBytes(ciphertext.bytes, tag.bytes));
  } catch {
    return fail('decrypt_failed', 'envelope failed authentication');
  }
  const plaintext = decodeUtf8(bytes);
  if (plaintext === undefined) return fail('bad_utf8', 'envelope plaintext is not UTF-8');
  return { ok: true, plaintext };
}
