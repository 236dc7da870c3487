// The dialling end of a peer link: opens the WebSocket to a peer's listener
// and runs the dialer's side of the handshake. Apart from the outbound queue
// (outbound.ts), which takes the socket once the handshake is done.
import { randomBytes } from 'node:crypto';
import { WebSocket, type RawData } from 'ws';
import { AUTH, HELLO } from './codec.js';
import { linkProof, NONCE_BYTES, peerDialUrl, PROOF_BYTES, proofMatches } from './handshake.js';

export interface DialOptions {
  readonly url: string;
  readonly sourceRelayId: string;
  readonly targetRelayId: string;
  readonly key: string;
  readonly timeoutMs: number;
}

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
 * checks the listener's proof (it is that relay and holds the key) and sends
 * its own. Resolves with the socket and the link's nonce once frames may flow.
 */
export async function dialPeerLink(options: DialOptions): Promise<{ ws: WebSocket; nonce: string }> {
  const nonce = randomBytes(NONCE_BYTES).toString('base64url');
  const ws = new WebSocket(peerDialUrl(options.url, options.sourceRelayId, nonce), {
    perMessageDeflate: false,
    maxPayload: 1024,
    generateMask: zeroMask,
    handshakeTimeout: options.timeoutMs,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('peer link handshake timed out')), options.timeoutMs);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`peer answered HTTP ${res.statusCode}`)));
      ws.once('close', () => reject(new Error('peer closed the link during the handshake')));
      ws.once('message', (raw: RawData) => {
        const data = raw as Buffer;
        if (data.length !== 1 + NONCE_BYTES + PROOF_BYTES || data[0] !== HELLO) {
          reject(new Error('peer sent no valid hello'));
          return;
        }
        const listenerNonce = Buffer.from(data.subarray(1, 1 + NONCE_BYTES));
        const expected = linkProof(options.key, 'listener', options.sourceRelayId, options.targetRelayId, nonce, listenerNonce);
        if (!proofMatches(data.subarray(1 + NONCE_BYTES), expected)) {
          reject(new Error('peer failed to prove it is the target relay holding the bus key'));
          return;
        }
        const auth = Buffer.allocUnsafe(1 + PROOF_BYTES);
        auth[0] = AUTH;
        linkProof(options.key, 'dialer', options.sourceRelayId, options.targetRelayId, nonce, listenerNonce).copy(auth, 1);
        ws.send(auth);
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
  return { ws, nonce };
}
