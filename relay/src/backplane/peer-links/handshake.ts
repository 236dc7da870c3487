// The peer-link handshake, version 2 (docs/backplane.md, "Peer links"): the
// dial request, the proofs and the checks on what a dialer may name. Both
// ends contribute a fresh nonce; each proof covers the role, both relay ids
// and both nonces under the link-proof subkey (keys.ts), and the link's
// session keys (link-mac.ts) come from the same nonces, so a proxy that
// relays the proofs gets a link whose messages it can neither read into
// nor forge. Pure; the listener and the dialer both use it.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The link protocol this relay speaks; a peer dialling without it is refused (HTTP 426). */
export const LINK_PROTOCOL_VERSION = '2';
export const NONCE_BYTES = 16;
export const PROOF_BYTES = 32;
/** The path a peer dials; the only one the peer listener upgrades. */
export const PEER_LINK_PATH = '/peer';

/**
 * A relay id a link may name: a strict charset (no newlines, spaces or
 * separators a signed format could be confused by) and at most 128
 * characters. Default ids (`{HOST}:{PORT}:{random}`, IPv6 hosts in brackets)
 * and the operator's pod names fit.
 */
const RELAY_ID_PATTERN = /^[A-Za-z0-9._:@[\]~-]{1,128}$/;

/** isLinkableRelayId says whether a relay id may take part in a peer link. */
export function isLinkableRelayId(id: string): boolean {
  return RELAY_ID_PATTERN.test(id);
}

const ROLE_BYTES = { listener: 0x4c, dialer: 0x44 } as const;

/**
 * linkProof is the proof `role` sends: HMAC-SHA256 under the link-proof
 * subkey over a fixed layout (role byte, each id as a length byte and its
 * ASCII, the dialer's nonce, the listener's nonce). Nothing the dialer sends
 * is signed in any other form, and the subkey signs nothing else.
 */
export function linkProof(proofKey: Buffer, role: 'listener' | 'dialer', dialerId: string, listenerId: string, dialerNonce: Buffer, listenerNonce: Buffer): Buffer {
  if (!isLinkableRelayId(dialerId) || !isLinkableRelayId(listenerId)) throw new RangeError('relay id cannot take part in a peer link');
  if (dialerNonce.length !== NONCE_BYTES || listenerNonce.length !== NONCE_BYTES) throw new RangeError('peer-link nonces are 16 bytes');
  const ids = Buffer.from(`${String.fromCharCode(dialerId.length)}${dialerId}${String.fromCharCode(listenerId.length)}${listenerId}`, 'latin1');
  return createHmac('sha256', proofKey).update(Buffer.from([ROLE_BYTES[role]])).update(ids).update(dialerNonce).update(listenerNonce).digest();
}

/** proofMatches compares a proof in constant time. */
export function proofMatches(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** peerDialUrl is where relay `sourceRelayId` dials a peer advertised at baseUrl, with its nonce. */
export function peerDialUrl(baseUrl: string, sourceRelayId: string, nonce: Buffer): string {
  const url = new URL(baseUrl);
  url.pathname = PEER_LINK_PATH;
  url.search = '';
  url.searchParams.set('v', LINK_PROTOCOL_VERSION);
  url.searchParams.set('source', sourceRelayId);
  url.searchParams.set('nonce', nonce.toString('base64url'));
  return url.toString();
}

/** DialRefusal names why a dial request was refused; labels relay_bus_peer_link_refused_total. */
export type DialRefusal = 'bad_path' | 'old_version' | 'bad_source' | 'bad_nonce';

export type DialRequest = { ok: true; source: string; nonce: Buffer } | { ok: false; reason: DialRefusal };

/** parseDialRequest checks an upgrade's path and query: this version, a linkable source, a 16-byte nonce. */
export function parseDialRequest(requestUrl: string | undefined): DialRequest {
  let url: URL;
  try {
    url = new URL(requestUrl ?? '/', 'http://peer');
  } catch {
    return { ok: false, reason: 'bad_path' };
  }
  if (url.pathname !== PEER_LINK_PATH) return { ok: false, reason: 'bad_path' };
  if (url.searchParams.get('v') !== LINK_PROTOCOL_VERSION) return { ok: false, reason: 'old_version' };
  const source = url.searchParams.get('source') ?? '';
  if (!isLinkableRelayId(source)) return { ok: false, reason: 'bad_source' };
  const text = url.searchParams.get('nonce') ?? '';
  const nonce = Buffer.from(text, 'base64url');
  // Only the canonical encoding of exactly 16 bytes.
  if (nonce.length !== NONCE_BYTES || nonce.toString('base64url') !== text) return { ok: false, reason: 'bad_nonce' };
  return { ok: true, source, nonce };
}
