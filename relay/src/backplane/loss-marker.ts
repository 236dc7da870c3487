// Loss markers with freshness (docs/backplane.md#loss-markers): a marker closes
// a scope's clients on the reading relay, so besides being authentic it must be
// new. Each carries the sending relay's boot id and a sequence number, signed
// with the loss-marker subkey of the bus key together with its scope, both
// relay ids and its signing time; the reader refuses one that is unsigned,
// badly signed, was appended long after it was signed (a replay), is at or
// below the sequence already seen from that boot, or was signed before the
// reader started (its memory of sequences is gone, but it reads its stream
// only from its start on). Pure apart from the injected clock values.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** LossMarkerStamp is what a marker carries besides the frame it stands for. */
export interface LossMarkerStamp {
  readonly bootId: string;
  readonly seq: number;
  readonly signature: string;
}

/** LossMarkerRefusal names why a marker was not honoured; reused as a metric label. */
export type LossMarkerRefusal = 'unsigned' | 'invalid_signature' | 'stale' | 'replayed' | 'before_start';

/** The marker's identity and its signed fields, as the stream entry gives them. */
interface MarkerFields {
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly sourceRelayId: string;
  readonly targetRelayId: string;
  readonly issuedAtMs: number;
}

// A JSON array: no field can forge a separator (relay ids may hold any character).
function markerHmac(key: Buffer, fields: MarkerFields, bootId: string, seq: number): Buffer {
  const signed = JSON.stringify([fields.targetRelayId, fields.sourceRelayId, fields.workspaceId, fields.runtimeTargetId, bootId, seq, fields.issuedAtMs]);
  return createHmac('sha256', key).update(signed, 'utf8').digest();
}

/** LossMarkerSigner stamps a frame that may become a marker in target's stream. */
export type LossMarkerSigner = (fields: MarkerFields) => LossMarkerStamp;

/** createLossMarkerSigner numbers this relay's markers from 1 under a fresh boot id. */
export function createLossMarkerSigner(key: Buffer, bootId = randomBytes(9).toString('base64url')): LossMarkerSigner {
  let seq = 0;
  return (fields) => {
    seq += 1;
    return { bootId, seq, signature: markerHmac(key, fields, bootId, seq).toString('base64url') };
  };
}

/** LossMarkerGuardOptions: the subkey, the freshness window, and when this relay started reading. */
export interface LossMarkerGuardOptions {
  readonly key: Buffer;
  /** Most time between signing a marker and its append to the stream (and its clock skew). */
  readonly windowMs: number;
  readonly startedAtMs: number;
  /** Clock difference between relays tolerated at the start bound; at most windowMs. */
  readonly startGraceMs: number;
  /** Sender boots remembered; past it the oldest is forgotten and its last time becomes a floor. */
  readonly bootsMax: number;
}

/** LossMarkerGuard judges a decoded marker entry; appendedAtMs is the stream entry's time, when known. */
export interface LossMarkerGuard {
  check(value: unknown, nowMs: number): LossMarkerRefusal | null;
}

function markerOf(value: unknown): (MarkerFields & { stamp: LossMarkerStamp; appendedAtMs: number | undefined }) | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const { workspaceId, runtimeTargetId, sourceRelayId, targetRelayId, issuedAtMs, markerBootId, markerSeq, markerSignature, appendedAtMs } = v;
  if (typeof workspaceId !== 'string' || typeof runtimeTargetId !== 'string' || typeof sourceRelayId !== 'string' || typeof targetRelayId !== 'string') return null;
  if (!Number.isSafeInteger(issuedAtMs) || !Number.isSafeInteger(markerSeq) || typeof markerBootId !== 'string' || typeof markerSignature !== 'string') return null;
  return {
    workspaceId,
    runtimeTargetId,
    sourceRelayId,
    targetRelayId,
    issuedAtMs: issuedAtMs as number,
    stamp: { bootId: markerBootId, seq: markerSeq as number, signature: markerSignature },
    appendedAtMs: typeof appendedAtMs === 'number' && Number.isSafeInteger(appendedAtMs) ? appendedAtMs : undefined,
  };
}

/** createLossMarkerGuard keeps the highest sequence seen per sender boot, bounded by bootsMax. */
export function createLossMarkerGuard(options: LossMarkerGuardOptions): LossMarkerGuard {
  // `${source}\n${bootId}` -> highest seq and its signing time; insertion order is age order.
  const highest = new Map<string, { seq: number; issuedAtMs: number }>();
  let floorMs = Number.NEGATIVE_INFINITY;
  const startBoundMs = options.startedAtMs - Math.min(options.startGraceMs, options.windowMs);

  return {
    check(value, nowMs) {
      const marker = markerOf(value);
      if (marker === null) return 'unsigned';
      const { stamp } = marker;
      const given = Buffer.from(stamp.signature, 'base64url');
      const expected = markerHmac(options.key, marker, stamp.bootId, stamp.seq);
      if (given.toString('base64url') !== stamp.signature || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return 'invalid_signature';
      }
      const ageMs = (marker.appendedAtMs ?? nowMs) - marker.issuedAtMs;
      if (ageMs > options.windowMs || marker.issuedAtMs - nowMs > options.windowMs) return 'stale';
      if (marker.issuedAtMs < startBoundMs) return 'before_start';
      const boot = `${marker.sourceRelayId}\n${stamp.bootId}`;
      const seen = highest.get(boot);
      if ((seen !== undefined && stamp.seq <= seen.seq) || marker.issuedAtMs <= floorMs) return 'replayed';
      highest.delete(boot);
      highest.set(boot, { seq: stamp.seq, issuedAtMs: marker.issuedAtMs });
      while (highest.size > Math.max(1, options.bootsMax)) {
        const [oldest, last] = highest.entries().next().value as [string, { seq: number; issuedAtMs: number }];
        highest.delete(oldest);
        floorMs = Math.max(floorMs, last.issuedAtMs);
      }
      return null;
    },
  };
}
