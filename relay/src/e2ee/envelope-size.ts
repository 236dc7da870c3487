// How large a plaintext fits in one relay frame once sealed: the envelope's
// JSON is fixed fields plus base64url ciphertext (4 characters per 3 bytes).
// Lets a client fill a frame up to RELAY_MAX_FRAME_BYTES without trial sends.
import { ENVELOPE_IV_LENGTH, ENVELOPE_TAG_LENGTH, envelopeFrame, type EnvelopeHeader } from './envelope.js';

/** base64UrlLength is the unpadded base64url length of `bytes` bytes. */
export function base64UrlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3);
}

/** envelopeFrameBytes is the JSON size of an envelope with `header` and `plaintextBytes` of plaintext. */
export function envelopeFrameBytes(header: EnvelopeHeader, plaintextBytes: number): number {
  const iv = 'A'.repeat(base64UrlLength(ENVELOPE_IV_LENGTH));
  const tag = 'A'.repeat(base64UrlLength(ENVELOPE_TAG_LENGTH));
  const empty = envelopeFrame(header, iv, tag, '');
  // JSON text of these fields is ASCII, so characters are bytes.
  return JSON.stringify(empty).length + base64UrlLength(plaintextBytes);
}

/** maxPlaintextBytes is the largest plaintext whose envelope stays within frameLimit bytes (0 if none fits). */
export function maxPlaintextBytes(header: EnvelopeHeader, frameLimit: number): number {
  const budget = frameLimit - envelopeFrameBytes(header, 0);
  if (budget <= 0) return 0;
  let bytes = Math.floor((budget * 3) / 4);
  while (bytes > 0 && base64UrlLength(bytes) > budget) bytes -= 1;
  return bytes;
}
