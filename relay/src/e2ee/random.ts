// Randomness is injected everywhere so vectors and tests can replay byte for byte.
import { randomBytes } from '@noble/hashes/utils.js';

/** RandomSource returns `length` fresh random bytes. */
export type RandomSource = (length: number) => Uint8Array;

/** systemRandom draws from the platform CSPRNG. */
export const systemRandom: RandomSource = (length) => randomBytes(length);
