// Domain separation for the bus key (RELAY_BUS_HMAC_KEY): one subkey per
// purpose, derived with HKDF-SHA256, so a MAC made for one purpose is never
// valid for another (issue 23, item 4: a link proof the bus took for a loss
// marker). Pure; every user of the bus key imports its subkey from here.
//
// API:
//   deriveBusSubkeys(busKey) -> { busEntry, linkProof, linkFrame, linkMarker,
//     lossMarker, presence, peerAddress }, each a 32-byte Buffer equal to
//     HKDF-SHA256(ikm = the key's UTF-8 bytes, salt = empty,
//                 info = "viewport-relay/<purpose>/v1", length = 32).
//   BUS_KEY_PURPOSES lists the purposes and their info labels.
// The raw key itself is only ever HKDF input here. The one use of the raw key
// left is the bus-entry signature of docs/protocol.md#bus-signing, a wire
// contract shared with the platform (server mode) and earlier relays; HKDF
// feeds the raw key to HMAC as a message under a fixed salt, never as the
// key, so no bus signature is a subkey or a MAC under one. `busEntry` is
// derived for when that contract gets a version of its own.
import { hkdfSync } from 'node:crypto';

/** BUS_KEY_PURPOSES maps each purpose to its HKDF info label. */
export const BUS_KEY_PURPOSES = {
  busEntry: 'viewport-relay/bus-entry/v1',
  /** The peer-link handshake proofs (peer-links/handshake.ts). */
  linkProof: 'viewport-relay/link-proof/v1',
  /** Input to each link's session keys, which MAC every link message. */
  linkFrame: 'viewport-relay/link-frame/v1',
  /** The fence and unlink markers a link's sender writes into the stream. */
  linkMarker: 'viewport-relay/link-marker/v1',
  lossMarker: 'viewport-relay/loss-marker/v1',
  presence: 'viewport-relay/presence/v1',
  /** The signed `peer:{id}` records peers are dialled at. */
  peerAddress: 'viewport-relay/peer-address/v1',
} as const;

export type BusKeyPurpose = keyof typeof BUS_KEY_PURPOSES;

export type BusSubkeys = { readonly [P in BusKeyPurpose]: Buffer };

const SUBKEY_BYTES = 32;

/** deriveBusSubkey is one purpose's subkey of busKey (a string is taken as its UTF-8 bytes). */
export function deriveBusSubkey(busKey: string | Buffer, purpose: BusKeyPurpose): Buffer {
  const ikm = typeof busKey === 'string' ? Buffer.from(busKey, 'utf8') : busKey;
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), BUS_KEY_PURPOSES[purpose], SUBKEY_BYTES));
}

/** deriveBusSubkeys derives every purpose's subkey once (at start-up: HKDF is not for the per-frame path). */
export function deriveBusSubkeys(busKey: string | Buffer): BusSubkeys {
  const out = {} as Record<BusKeyPurpose, Buffer>;
  for (const purpose of Object.keys(BUS_KEY_PURPOSES) as BusKeyPurpose[]) out[purpose] = deriveBusSubkey(busKey, purpose);
  return Object.freeze(out);
}
