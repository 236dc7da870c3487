import type { Profile } from './frame.js';

/** PROFILES lists the known E2EE profiles. */
export const PROFILES: readonly Profile[] = ['noise-ik', 'noise-ikpsk2'];

/** isProfile is true when value names a known E2EE profile. */
export function isProfile(value: unknown): value is Profile {
  return (PROFILES as readonly unknown[]).includes(value);
}

// Strength order of the profiles: a PSK-bound handshake is stronger than plain IK.
function profileRank(p: Profile): number {
  return p === 'noise-ikpsk2' ? 2 : 1;
}

/** isStrongerOrEqualProfile is true when a is at least as strong as b (noise-ik < noise-ikpsk2). */
export function isStrongerOrEqualProfile(a: Profile, b: Profile): boolean {
  return profileRank(a) >= profileRank(b);
}
