// Bus frame signing and verification (spec §7.4), pure apart from the
// injected clock: HMAC-SHA256 over the eight signed fields, a skew window,
// and a replay guard that accepts legitimate out-of-order arrival (G-21).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BusFrame } from './backplane.js';

/** BusVerifyError names why a frame failed verification; reused as metric suffixes. */
export type BusVerifyError = 'invalid_signature' | 'stale_signature' | 'replayed_signature';

export type BusVerifyResult = { ok: true } | { ok: false; error: BusVerifyError };

/** busSigningString joins the signed fields with "\n"; missing fields become "". */
export function busSigningString(frame: BusFrame): string {
  return [
    frame.workspaceId,
    frame.runtimeTargetId,
    frame.machineId ?? '',
    frame.sourceRelayId,
    frame.targetRelayId ?? '',
    frame.direction,
    frame.issuedAtMs === undefined ? '' : String(frame.issuedAtMs),
    frame.payload,
  ].join('\n');
}

/** computeBusSignature is base64url (no padding) HMAC-SHA256 of the signing string, keyed by the UTF-8 key. */
export function computeBusSignature(frame: BusFrame, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(busSigningString(frame), 'utf8').digest('base64url');
}

/** signBusFrame stamps issuedAtMs and the signature onto a copy of the frame. */
export function signBusFrame(frame: BusFrame, key: string, nowMs: number): BusFrame {
  const stamped: BusFrame = { ...frame, issuedAtMs: nowMs, signature: undefined };
  return { ...stamped, signature: computeBusSignature(stamped, key) };
}

/** BusVerifierOptions configures a BusVerifier. */
export interface BusVerifierOptions {
  readonly key: string;
  readonly maxSkewMs: number;
  /** Most signatures remembered for replay detection; memory stays bounded by it. */
  readonly seenMax: number;
  readonly now: () => number;
}

/** BusVerifier checks frames in spec order and remembers accepted signatures. */
export interface BusVerifier {
  verify(frame: BusFrame): BusVerifyResult;
  /** seenCount is the number of remembered signatures (for tests and gauges). */
  seenCount(): number;
}

/**
 * createBusVerifier builds a verifier whose replay guard is a set of accepted
 * signatures, each kept until its frame leaves the skew window (after that the
 * skew check rejects a replay anyway). Order of arrival does not matter, unlike
 * the reference's per-source high-water mark. When the set is full the oldest
 * entry is evicted and its issuedAtMs becomes a floor: frames at or below the
 * floor are refused, so eviction can drop a late frame but never admit a replay.
 */
export function createBusVerifier(options: BusVerifierOptions): BusVerifier {
  const key = Buffer.from(options.key, 'utf8');
  // signature -> issuedAtMs; insertion order approximates expiry order.
  const seen = new Map<string, number>();
  let floorMs = Number.NEGATIVE_INFINITY;

  function expire(nowMs: number): void {
    for (const [signature, issuedAtMs] of seen) {
      if (issuedAtMs + options.maxSkewMs >= nowMs) break;
      seen.delete(signature);
    }
  }

  function remember(signature: string, issuedAtMs: number): void {
    while (seen.size >= Math.max(1, options.seenMax)) {
      const oldest = seen.entries().next().value;
      if (!oldest) break;
      seen.delete(oldest[0]);
      floorMs = Math.max(floorMs, oldest[1]);
    }
    seen.set(signature, issuedAtMs);
  }

  return {
    verify(frame) {
      const { issuedAtMs, signature } = frame;
      if (typeof issuedAtMs !== 'number' || !Number.isSafeInteger(issuedAtMs) || !signature) {
        return { ok: false, error: 'invalid_signature' };
      }
      const nowMs = options.now();
      if (Math.abs(nowMs - issuedAtMs) > options.maxSkewMs) return { ok: false, error: 'stale_signature' };
      expire(nowMs);
      if (seen.has(signature) || issuedAtMs <= floorMs) return { ok: false, error: 'replayed_signature' };
      const expected = createHmac('sha256', key).update(busSigningString(frame), 'utf8').digest();
      const given = Buffer.from(signature, 'base64url');
      // Only the canonical encoding is accepted, so a re-encoded copy of a seen
      // signature cannot slip past the replay set.
      const canonical = given.toString('base64url') === signature;
      if (!canonical || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return { ok: false, error: 'invalid_signature' };
      }
      remember(signature, issuedAtMs);
      return { ok: true };
    },
    seenCount: () => seen.size,
  };
}
