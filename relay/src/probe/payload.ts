// Probe plaintexts: each carries its frame index so an echo can be matched,
// and random filler up to the requested size so corruption is detectable.
import { toBase64Url, type RandomSource } from '../e2ee/index.js';

const PREFIX = 'probe:';

/** probePayload builds exactly `bytes` ASCII characters for frame `index`. */
export function probePayload(index: number, bytes: number, random: RandomSource): string {
  const head = `${PREFIX}${String(index)}:`;
  const fillLength = Math.max(0, bytes - head.length);
  // base64url yields 4 characters per 3 random bytes; trim to the exact length.
  const fill = toBase64Url(random(Math.ceil((fillLength * 3) / 4))).slice(0, fillLength);
  return head + fill;
}

/** payloadIndex reads the frame index back from a plaintext, if it is a probe payload. */
export function payloadIndex(text: string): number | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const end = text.indexOf(':', PREFIX.length);
  if (end < 0) return undefined;
  const n = Number(text.slice(PREFIX.length, end));
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}
