// A bus frame's payload size, which the hub, the inbound checks and the peer
// link codec all need. Apart from bus-frame.ts (zod schemas, signatures) so the
// hub's per-frame path imports only this.
import type { BusFrame } from './types.js';

/** busPayloadSize is the payload's size in bytes, read off payloadBytes when the relay holds them. */
export function busPayloadSize(frame: BusFrame): number {
  return frame.payloadBytes !== undefined ? frame.payloadBytes.length : Buffer.byteLength(frame.payload, 'utf8');
}
