// The peer-link message codec: frames, loss markers and acks as bytes on a
// link (docs/backplane.md, "Peer links"). Pure and apart from the sockets, so
// the layout is tested on its own; encoding a frame is one allocation and one
// copy of the payload.
import type { BusDirection, BusFrame } from '../../bus/types.js';
import { busPayloadSize } from '../../bus/payload-size.js';

// Message type bytes. HELLO and AUTH only run in the handshake (handshake.ts).
const FRAME = 1;
const ACK = 2;
export const HELLO = 3;
export const AUTH = 4;
/** A loss marker: the frame stands for frames refused after it, like a stream's loss entry. */
const LOSS = 5;

// A frame message: type, direction, issuedAtMs (float64, NaN when absent),
// workspaceId, runtimeTargetId, machineId and targetRelayId (each a 2-byte
// length and UTF-8; 0xffff for an absent machineId), then the payload to the
// end. The source is the link's authenticated peer, never the message's say.
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
  size += busPayloadSize(frame);
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
  if (frame.payloadBytes !== undefined) frame.payloadBytes.copy(out, at);
  else out.write(frame.payload, at, 'utf8');
  return out;
}

/** isLossMessage tells a loss marker from a frame (both decode with decodeLinkFrame). */
export function isLossMessage(data: Buffer): boolean {
  return data[0] === LOSS;
}

/** decodeLinkFrame reverses encodeLinkFrame for a link from sourceRelayId; null for a malformed message. */
export function decodeLinkFrame(data: Buffer, sourceRelayId: string): BusFrame | null {
  if (data.length < 18 || (data[0] !== FRAME && data[0] !== LOSS)) return null;
  const direction = DIRECTIONS[data[1]!];
  if (direction === undefined) return null;
  const issuedAtMs = data.readDoubleBE(2);
  const heads: (string | undefined)[] = [];
  let at = 10;
  for (let i = 0; i < 4; i++) {
    if (at + 2 > data.length) return null;
    const length = data.readUInt16BE(at);
    at += 2;
    if (length === NO_STRING) {
      heads.push(undefined);
      continue;
    }
    if (at + length > data.length) return null;
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
    payload: data.toString('utf8', at),
    payloadBytes: data.subarray(at),
    ...(Number.isSafeInteger(issuedAtMs) ? { issuedAtMs } : {}),
  };
}

/** encodeAck tells the sender how many frames of this link the receiver has taken (cumulative). */
export function encodeAck(count: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = ACK;
  out.writeDoubleBE(count, 1);
  return out;
}

/** decodeAck reads an ack's cumulative count; null for anything else. */
export function decodeAck(data: Buffer): number | null {
  if (data.length !== 9 || data[0] !== ACK) return null;
  const count = data.readDoubleBE(1);
  return Number.isSafeInteger(count) && count >= 0 ? count : null;
}
