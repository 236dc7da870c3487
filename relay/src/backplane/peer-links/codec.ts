// The peer-link message codec: frames, loss markers and acks as bytes on a
// link (docs/backplane.md, "Peer links"). Pure and apart from the sockets, so
// the layout is tested on its own; encoding a frame is one allocation and one
// copy of the payload. Every message after the handshake ends in TAG_BYTES
// for its tag (link-mac.ts): encoding leaves the room, decoding ignores it
// (the receiver has checked the tag before it decodes).
import type { BusDirection, BusFrame } from '../../bus/types.js';
import { busPayloadSize } from '../../bus/payload-size.js';
import { TAG_BYTES } from './link-mac.js';

// Message type bytes. The hellos and AUTH only run in the handshake (handshake.ts).
const FRAME = 1;
const ACK = 2;
/** The hello of link protocol 1 (earlier relays): recognised only to refuse it by name. */
export const HELLO_V1 = 3;
export const AUTH = 4;
/** The hello of link protocol 2. */
export const HELLO = 6;
/** A loss marker: the frame stands for frames refused after it, like a stream's loss entry. */
const LOSS = 5;

// A frame message: type, direction, issuedAtMs (float64, NaN when absent),
// workspaceId, runtimeTargetId, machineId and targetRelayId (each a 2-byte
// length and UTF-8; 0xffff for an absent machineId), then the payload to the
// end, then the tag. The source is the link's authenticated peer, never the
// message's say.
const NO_STRING = 0xffff;
const DIRECTIONS: readonly BusDirection[] = ['client_to_daemon', 'daemon_to_clients'];

/** encodeLinkFrame lays a frame (or a loss marker) out as one link message; its sourceRelayId is implied by the link. */
export function encodeLinkFrame(frame: BusFrame, kind: 'frame' | 'loss' = 'frame'): Buffer {
  const heads = [frame.workspaceId, frame.runtimeTargetId, frame.machineId, frame.targetRelayId ?? ''];
  let size = 10;
  const lengths = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const text = heads[i];
    lengths[i] = text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
    if (lengths[i]! >= NO_STRING) throw new RangeError('bus frame field too long for a peer link');
    size += 2 + lengths[i]!;
  }
  size += busPayloadSize(frame) + TAG_BYTES;
  const out = Buffer.allocUnsafe(size);
  out[0] = kind === 'loss' ? LOSS : FRAME;
  out[1] = frame.direction === 'daemon_to_clients' ? 1 : 0;
  out.writeDoubleBE(frame.issuedAtMs ?? Number.NaN, 2);
  let at = 10;
  for (let i = 0; i < 4; i++) {
    const text = heads[i];
    out.writeUInt16BE(text === undefined ? NO_STRING : lengths[i]!, at);
    at += 2;
    if (text !== undefined) at += out.write(text, at, 'utf8');
  }
  if (frame.payloadBytes !== undefined) at += frame.payloadBytes.copy(out, at);
  else at += out.write(frame.payload, at, 'utf8');
  // The tag's room is zeroed: an unsealed message never carries stale memory.
  out.fill(0, at);
  return out;
}

/** isLossMessage tells a loss marker from a frame (both decode with decodeLinkFrame). */
export function isLossMessage(data: Buffer): boolean {
  return data[0] === LOSS;
}

/** decodeLinkFrame reverses encodeLinkFrame for a link from sourceRelayId (its tag already checked); null for a malformed message. */
export function decodeLinkFrame(data: Buffer, sourceRelayId: string): BusFrame | null {
  const end = data.length - TAG_BYTES;
  if (end < 18 || (data[0] !== FRAME && data[0] !== LOSS)) return null;
  const direction = DIRECTIONS[data[1]!];
  if (direction === undefined) return null;
  const issuedAtMs = data.readDoubleBE(2);
  const heads: (string | undefined)[] = [];
  let at = 10;
  for (let i = 0; i < 4; i++) {
    if (at + 2 > end) return null;
    const length = data.readUInt16BE(at);
    at += 2;
    if (length === NO_STRING) {
      heads.push(undefined);
      continue;
    }
    if (at + length > end) return null;
    heads.push(data.toString('utf8', at, at + length));
    at += length;
  }
  const [workspaceId, runtimeTargetId, machineId, targetRelayId] = heads;
  if (!workspaceId || !runtimeTargetId || targetRelayId === undefined) return null;
  return {
    workspaceId,
    runtimeTargetId,
    ...(machineId !== undefined ? { machineId } : {}),
    sourceRelayId,
    targetRelayId,
    direction,
    payload: data.toString('utf8', at, end),
    payloadBytes: data.subarray(at, end),
    ...(Number.isSafeInteger(issuedAtMs) ? { issuedAtMs } : {}),
  };
}

/** encodeAck tells the sender how many frames of this link the receiver has taken (cumulative). */
export function encodeAck(count: number): Buffer {
  const out = Buffer.allocUnsafe(9 + TAG_BYTES);
  out[0] = ACK;
  out.writeDoubleBE(count, 1);
  out.fill(0, 9);
  return out;
}

/** decodeAck reads an ack's cumulative count; null for anything else. */
export function decodeAck(data: Buffer): number | null {
  if (data.length !== 9 + TAG_BYTES || data[0] !== ACK) return null;
  const count = data.readDoubleBE(1);
  return Number.isSafeInteger(count) && count >= 0 ? count : null;
}
