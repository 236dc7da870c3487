// The dialling end of a peer link: opens the WebSocket to a peer's listener
// and runs the dialer's side of the handshake (handshake.ts). Apart from the
// outbound queue (outbound.ts), which takes the socket and the session keys
// once the handshake is done.
import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { AUTH, HELLO, HELLO_V1 } from './codec.js';
import { linkProof, NONCE_BYTES, peerDialUrl, PROOF_BYTES, proofMatches } from './handshake.js';
import { linkSessionKeys, type LinkSessionKeys } from './link-mac.js';

export interface DialOptions {
  readonly url: string;
  readonly sourceRelayId: string;
  readonly targetRelayId: string;
  /** The link-proof and link-frame subkeys of the bus key (keys.ts). */
  readonly proofKey: Buffer;
  readonly frameKey: Buffer;
  readonly timeoutMs: number;
}

/** DialedLink is an open link: its socket, its nonce (named by the fence and unlink markers) and its session keys. */
export interface DialedLink {
  readonly ws: WebSocket;
  readonly nonce: string;
  readonly keys: LinkSessionKeys;
}

/** PeerVersionError is a peer that speaks another link protocol (an older relay during an upgrade). */
export class PeerVersionError extends Error {}

/** PeerProofError is a listener that failed to prove it is the target relay holding the key. */
export class PeerProofError extends Error {}

// Links send with a zero mask, which ws skips on both ends: no copy and XOR of
// every frame on the dialer and no XOR on the listener. Masking protects
// HTTP intermediaries from bytes a browser chose; a link runs pod to pod, and
// the same client bytes already reach daemons unmasked, as every frame a
// WebSocket server sends does.
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * dialPeerLink opens a link to targetRelayId and runs the handshake: it
 * checks the listener's proof (it is that relay, holds the key, and answers
 * this connection's nonce) and sends its own. Resolves once frames may flow.
 */
export async function dialPeerLink(options: DialOptions): Promise<DialedLink> {
  const nonce = randomBytes(NONCE_BYTES);
  const ws = new WebSocket(peerDialUrl(options.url, options.sourceRelayId, nonce), {
    perMessageDeflate: false,
    maxPayload: 1024,
    generateMask: zeroMask,
    handshakeTimeout: options.timeoutMs,
  });
  let timer: NodeJS.Timeout | undefined;
  let keys: LinkSessionKeys | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('peer link handshake timed out')), options.timeoutMs);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(res.statusCode === 426 ? new PeerVersionError('peer refused link protocol 2 (HTTP 426)') : new Error(`peer answered HTTP ${res.statusCode}`)),
      );
      ws.once('close', () => reject(new Error('peer closed the link during the handshake')));
      ws.once('message', (raw: RawData) => {
        const data = raw as Buffer;
        if (data[0] === HELLO_V1) {
          reject(new PeerVersionError('peer speaks link protocol 1 (an older relay)'));
          return;
        }
        if (data.length !== 1 + NONCE_BYTES + PROOF_BYTES || data[0] !== HELLO) {
          reject(new Error('peer sent no valid hello'));
          return;
        }
        const listenerNonce = Buffer.from(data.subarray(1, 1 + NONCE_BYTES));
        const { sourceRelayId: dialerId, targetRelayId: listenerId, proofKey } = options;
        const expected = linkProof(proofKey, 'listener', dialerId, listenerId, nonce, listenerNonce);
        if (!proofMatches(data.subarray(1 + NONCE_BYTES), expected)) {
          reject(new PeerProofError('peer failed to prove it is the target relay holding the bus key'));
          return;
        }
        const auth = Buffer.allocUnsafe(1 + PROOF_BYTES);
        auth[0] = AUTH;
        linkProof(proofKey, 'dialer', dialerId, listenerId, nonce, listenerNonce).copy(auth, 1);
        ws.send(auth);
        keys = linkSessionKeys(options.frameKey, dialerId, listenerId, nonce, listenerNonce);
        resolve();
      });
    });
  } catch (error) {
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    ws.terminate();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  ws.removeAllListeners();
  return { ws, nonce: nonce.toString('base64url'), keys: keys! };
}
