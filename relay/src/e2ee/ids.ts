// Correlation and session ids in the reference's formats.
import type { RandomSource } from './random.js';

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** newRequestId is "kex-" + 16 lowercase hex chars. */
export function newRequestId(random: RandomSource): string {
  return `kex-${hex(random(8))}`;
}

/** newSessionId is "rs_" + 24 lowercase hex chars. */
export function newSessionId(random: RandomSource): string {
  return `rs_${hex(random(12))}`;
}
