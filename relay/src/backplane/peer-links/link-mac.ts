// Per-message authentication on a peer link (docs/backplane.md, "Peer
// links"): each link gets two session keys, one per direction, derived with
// HKDF from the link-frame subkey and both handshake nonces; every message
// after the handshake (frames, loss markers, acks) ends in a tag, HMAC-SHA256
// truncated to 16 bytes, over the message's sequence number and its bytes.
// The sequence number is implicit: each end counts the messages it sealed or
// opened on the link, so a replayed, reordered, dropped or injected message
// fails its tag, and a link sees any of those once at most (it is closed).
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Bytes of the tag at the end of every link message. */
export const TAG_BYTES = 16;

/** LinkSessionKeys are one link's two directions' keys. */
export interface LinkSessionKeys {
  readonly dialerToListener: Buffer;
  readonly listenerToDialer: Buffer;
}

/** linkSessionKeys derives a link's keys; the ids and nonces are those both proofs covered. */
export function linkSessionKeys(frameKey: Buffer, dialerId: string, listenerId: string, dialerNonce: Buffer, listenerNonce: Buffer): LinkSessionKeys {
  const salt = Buffer.concat([dialerNonce, listenerNonce]);
  const derive = (direction: string) => Buffer.from(hkdfSync('sha256', frameKey, salt, `${direction}\n${dialerId}\n${listenerId}`, 32));
  return { dialerToListener: derive('dialer-to-listener'), listenerToDialer: derive('listener-to-dialer') };
}

/**
 * LinkMac seals (sender) or opens (receiver) the messages of one direction
 * of one link, counting them. A sealed message has TAG_BYTES of room at its
 * end, which seal fills; the codec leaves that room when it encodes.
 */
export class LinkMac {
  private readonly key: KeyObject;
  private count = 0;
  // The sequence number's bytes, rewritten per message (no allocation for it).
  private readonly sequence = Buffer.alloc(8);

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** seal numbers the message and writes its tag into its last TAG_BYTES. */
  seal(message: Buffer): void {
    const end = message.length - TAG_BYTES;
    this.tag(message, end).copy(message, end, 0, TAG_BYTES);
  }

  /** open checks the next message's tag (constant time); false means the link must close. */
  open(message: Buffer): boolean {
    const end = message.length - TAG_BYTES;
    if (end < 1) return false;
    const expected = this.tag(message, end);
    return timingSafeEqual(expected.subarray(0, TAG_BYTES), message.subarray(end));
  }

  private tag(message: Buffer, end: number): Buffer {
    const n = this.count++;
    this.sequence.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 0);
    this.sequence.writeUInt32BE(n >>> 0, 4);
    return createHmac('sha256', this.key).update(this.sequence).update(message.subarray(0, end)).digest();
  }
}
