// Bus frame signing and verification (docs/protocol.md#bus-signing), pure apart from the
// injected clock: HMAC-SHA256 over the eight signed fields, a skew window,
// and a replay guard that accepts legitimate out-of-order arrival (docs/protocol.md#weak-bus-ordering).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BusFrame } from './backplane.js';

/** BusVerifyError names why a frame failed verification; reused as metric suffixes. */
export type BusVerifyError = 'invalid_signature' | 'stale_signature' | 'replayed_signature';

export type BusVerifyResult = { ok: true } | { ok: false; error: BusVerifyError };

/** busSigningString joins the signed fields with "\n"; missing fields become "". */
export function busSigningString(frame: BusFrame): string {
  return signingHead(frame) + frame.payload;
}

// The seven fields before the payload, each followed by "\n".
function signingHead(frame: BusFrame): string {
  const issuedAt = frame.issuedAtMs === undefined ? '' : String(frame.issuedAtMs);
  return `${frame.workspaceId}\n${frame.runtimeTargetId}\n${frame.machineId ?? ''}\n${frame.sourceRelayId}\n${frame.targetRelayId ?? ''}\n${frame.direction}\n${issuedAt}\n`;
}

// Past this length the payload is fed to the HMAC on its own rather than joined
// to the head: joining copies it (a 16 KiB frame: 19 against 29 µs per signature),
// while for short ones one update call is cheaper than two.
const SEPARATE_PAYLOAD_CHARS = 1024;

/** busHmac is HMAC-SHA256 of the frame's signing string under key. */
function busHmac(frame: BusFrame, key: Buffer): Buffer {
  const hmac = createHmac('sha256', key);
  if (frame.payload.length < SEPARATE_PAYLOAD_CHARS) return hmac.update(busSigningString(frame), 'utf8').digest();
  return hmac.update(signingHead(frame), 'utf8').update(frame.payload, 'utf8').digest();
}

/**
 * computeBusSignature is base64url (no padding) HMAC-SHA256 of the signing
 * string, keyed by the UTF-8 bus key, or by a subkey of it (keys.ts) for the
 * entries that are not bus frames (peer-link markers).
 */
export function computeBusSignature(frame: BusFrame, key: string | Buffer): string {
  return busHmac(frame, typeof key === 'string' ? Buffer.from(key, 'utf8') : key).toString('base64url');
}

/** signBusFrame stamps issuedAtMs and the signature onto a copy of the frame. */
export function signBusFrame(frame: BusFrame, key: string | Buffer, nowMs: number): BusFrame {
  const { payloadBytes: _bytes, ...wire } = frame;
  const stamped: BusFrame = { ...wire, issuedAtMs: nowMs, signature: undefined };
  return { ...stamped, signature: computeBusSignature(stamped, key) };
}

/**
 * busSignatureMatches compares signature with the frame's HMAC under key in
 * constant time. Only the canonical encoding is accepted, so a re-encoded copy
 * of a seen signature cannot slip past a replay set.
 */
function busSignatureMatches(frame: BusFrame, signature: string, key: Buffer): boolean {
  const expected = busHmac(frame, key);
  const given = Buffer.from(signature, 'base64url');
  const canonical = given.toString('base64url') === signature;
  return canonical && given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * isAuthentic checks only a frame's signature under key (the UTF-8 bytes of
 * the bus key, made once by the caller), not its age or the replay set: for
 * markers whose effect is harmless to repeat (loss markers, peer-link fences).
 */
export function isAuthentic(frame: BusFrame, key: Buffer): boolean {
  return typeof frame.issuedAtMs === 'number' && !!frame.signature && busSignatureMatches(frame, frame.signature, key);
}

/** BusVerifierOptions configures a BusVerifier. */
export interface BusVerifierOptions {
  readonly key: string;
  readonly maxSkewMs: number;
  /** Most signatures remembered for replay detection; memory stays bounded by it. */
  readonly seenMax: number;
  readonly now: () => number;
}

/** BusVerifier checks frames in the documented order and remembers accepted signatures. */
export interface BusVerifier {
  verify(frame: BusFrame): BusVerifyResult;
  /**
   * authentic checks only the signature (constant time), not the skew or the
   * replay set: for loss markers, whose effect (closing clients) is harmless to
   * repeat and must not be lost to a backlog older than the skew window.
   */
  authentic(frame: BusFrame): boolean;
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
  // Accepted signatures, and the same in arrival order (a FIFO with a moving
  // head) with their issuedAtMs, which approximates expiry order. A queue, not
  // Map iteration: deleting a Map's head leaves holes every later walk skips.
  const seen = new Set<string>();
  let order: string[] = [];
  let times: number[] = [];
  let head = 0;
  let floorMs = Number.NEGATIVE_INFINITY;

  function dropHead(): number {
    const issuedAtMs = times[head] ?? Number.NEGATIVE_INFINITY;
    seen.delete(order[head] ?? '');
    head += 1;
    if (head >= 1024 && head * 2 >= order.length) {
      order = order.slice(head);
      times = times.slice(head);
      head = 0;
    }
    return issuedAtMs;
  }

  function expire(nowMs: number): void {
    while (head < order.length && (times[head] ?? 0) + options.maxSkewMs < nowMs) dropHead();
  }

  function remember(signature: string, issuedAtMs: number): void {
    while (seen.size >= Math.max(1, options.seenMax) && head < order.length) floorMs = Math.max(floorMs, dropHead());
    seen.add(signature);
    order.push(signature);
    times.push(issuedAtMs);
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
      if (!busSignatureMatches(frame, signature, key)) return { ok: false, error: 'invalid_signature' };
      remember(signature, issuedAtMs);
      return { ok: true };
    },
    authentic: (frame) => isAuthentic(frame, key),
    seenCount: () => seen.size,
  };
}
