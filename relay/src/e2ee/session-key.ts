// Session keys: the result of a completed handshake or key exchange.
import type { Profile } from './profiles.js';

/** SessionKeys is what both ends hold after a successful handshake (v2 or v3). */
export interface SessionKeys {
  readonly profile: Profile;
  readonly sessionId: string;
  readonly epoch: number;
  /** key is the single AES-256-GCM key used by both directions. */
  readonly key: Uint8Array;
}

/** PAIRING_SECRET_LENGTH is the size of the noise-ikpsk2 pre-shared key. */
export const PAIRING_SECRET_LENGTH = 32;
