// The peer-link handshake's proofs and dial address: both ends prove once,
// when a link is set up, that they hold the bus key (an HMAC challenge each
// way), so frames on the link carry no signature. Apart from the listener and
// the dialer, which both use it, and pure.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const NONCE_BYTES = 16;
export const PROOF_BYTES = 32;
/** The path a peer dials; the only one the peer listener upgrades. */
export const PEER_LINK_PATH = '/peer';

/**
 * linkProof binds a role to both relay ids and both nonces under the bus key:
 * the listener's proof answers the dialer's nonce, the dialer's the listener's,
 * so neither can be replayed into another link or turned around.
 */
export function linkProof(key: string, role: 'listener' | 'dialer', dialerId: string, listenerId: string, dialerNonce: string, listenerNonce: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(`viewport-relay-peer-link\n${role}\n${dialerId}\n${listenerId}\n${dialerNonce}\n${listenerNonce.toString('base64url')}`, 'utf8')
    .digest();
}

/** proofMatches compares a proof in constant time. */
export function proofMatches(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** peerDialUrl is where relay `sourceRelayId` dials a peer advertised at baseUrl. */
export function peerDialUrl(baseUrl: string, sourceRelayId: string, nonce: string): string {
  const url = new URL(baseUrl);
  url.pathname = PEER_LINK_PATH;
  url.search = '';
  url.searchParams.set('source', sourceRelayId);
  url.searchParams.set('nonce', nonce);
  return url.toString();
}
