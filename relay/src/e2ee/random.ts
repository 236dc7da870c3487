// Randomness is injected everywhere so vectors and tests can replay byte for byte.
import { randomBytes } from '@noble/hashes/utils.js';

/** RandomSource returns `length` fresh random bytes. */
export type RandomSource = (length: number) => Uint8Array;

// getRandomValues (under randomBytes) fills at most 65536 bytes per call.
const MAX_DRAW = 65536;

/** systemRandom draws from the platform CSPRNG, in several calls for long lengths. */
export const systemRandom: RandomSource = (length) => {
  if (length <= MAX_DRAW) return randomBytes(length);
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_DRAW) out.set(randomBytes(Math.min(MAX_DRAW, length - offset)), offset);
  return out;
};
