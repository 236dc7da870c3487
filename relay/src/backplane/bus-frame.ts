// Inbound bus frame checks (docs/protocol.md#bus-frame), pure: parse the wire JSON, keep only
// frames addressed to this relay, bound the payload, then verify the signature.
import { z } from 'zod';
import type { BusFrame } from '../bus/types.js';
import { busPayloadSize } from '../bus/payload-size.js';
import type { BusVerifier, BusVerifyError } from './bus-signing.js';

/** BusRejectReason names why an inbound frame was dropped; each maps to a counter. */
export type BusRejectReason = 'malformed' | 'misaddressed' | 'frame_too_large' | BusVerifyError;

export type BusInboundResult = { ok: true; frame: BusFrame } | { ok: false; error: BusRejectReason };

const busFrameSchema = z.object({
  workspaceId: z.string().min(1),
  runtimeTargetId: z.string().min(1),
  machineId: z.string().optional(),
  sourceRelayId: z.string().min(1),
  targetRelayId: z.string().nullable(),
  direction: z.enum(['client_to_daemon', 'daemon_to_clients']),
  payload: z.string(),
  issuedAtMs: z.number().optional(),
  signature: z.string().optional(),
});

/** parseBusFrame validates a decoded JSON value as a bus frame; unknown keys are dropped. */
export function parseBusFrame(value: unknown): BusFrame | null {
  const parsed = busFrameSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** BusInboundPolicy is what a receiver needs to judge a frame. */
export interface BusInboundPolicy {
  readonly selfRelayId: string;
  readonly maxFrameBytes: number;
  /** null for frames from an authenticated peer link: no signature to check. */
  readonly verifier: BusVerifier | null;
}

/**
 * checkInboundBusFrame applies the receiver rules in order: malformed, addressed
 * to another relay or sent by this one, payload over the frame limit, then the
 * signature checks. Only frames that pass every rule are returned.
 */
export function checkInboundBusFrame(value: unknown, policy: BusInboundPolicy): BusInboundResult {
  const frame = parseBusFrame(value);
  if (!frame) return { ok: false, error: 'malformed' };
  return checkBusFrame(frame, policy);
}

/** checkBusFrame applies the rules after parsing, for frames a transport already decoded into shape (peer links). */
export function checkBusFrame(frame: BusFrame, policy: BusInboundPolicy): BusInboundResult {
  const target = frame.targetRelayId;
  if ((target !== null && target !== '' && target !== policy.selfRelayId) || frame.sourceRelayId === policy.selfRelayId) {
    return { ok: false, error: 'misaddressed' };
  }
  if (busPayloadSize(frame) > policy.maxFrameBytes) return { ok: false, error: 'frame_too_large' };
  if (policy.verifier === null) return { ok: true, frame };
  const verdict = policy.verifier.verify(frame);
  return verdict.ok ? { ok: true, frame } : verdict;
}
