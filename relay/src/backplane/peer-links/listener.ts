// The receiving end of peer links: an HTTP server of its own on the peer-link
// port (never the public listener) that upgrades /peer, runs the listener's
// side of the handshake, holds each link's frames until its fence is read from
// the stream, then hands them to the bus receiver and acks them in batches.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { BusFrame } from '../../bus/types.js';
import { listen } from '../../net/listen.js';
import { rejectUpgrade } from '../../net/reject.js';
import type { BackplaneLog } from '../backplane.js';
import { AUTH, decodeLinkFrame, encodeAck, HELLO, isLossMessage } from './codec.js';
import { linkProof, NONCE_BYTES, PEER_LINK_PATH, PROOF_BYTES, proofMatches } from './handshake.js';

const HANDSHAKE_TIMEOUT_MS = 5000;
/** Connections still in their handshake at once; more are refused 503. */
const MAX_HANDSHAKES = 64;

export interface PeerLinkListenerOptions {
  /** This relay's id and the bus key both ends prove they hold. */
  readonly relayId: string;
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** Largest message accepted (the largest frame plus its fields). */
  readonly maxMessageBytes: number;
  /** Frames held per link until its fence is read; a link over it is closed. */
  readonly maxHeld: number;
  /** Acks are sent after this many frames, or ackDelayMs after the first unacked one. */
  readonly ackEvery: number;
  readonly ackDelayMs: number;
  /** deliver hands one frame (or loss marker, when loss) of an open link to the bus receiver. */
  deliver(frame: BusFrame, loss: boolean): void;
  log: BackplaneLog;
}

export interface PeerLinkListener {
  /** port is the bound port (useful when 0 was asked for). */
  port(): number;
  /** fence releases the link `nonce` from source: every bus frame it sent before the link is read. */
  fence(sourceRelayId: string, nonce: string): void;
  /** unlink closes the link `nonce` from source: its sender has given it up, later data must not count. */
  unlink(sourceRelayId: string, nonce: string): void;
  /** links is the number of open inbound links (for gauges and tests). */
  links(): number;
  close(): Promise<void>;
}

interface InboundLink {
  readonly source: string;
  readonly nonce: string;
  readonly ws: WebSocket;
  /** Until the dialer's proof arrives, nothing else is accepted. */
  authenticated: boolean;
  /** Frames received before the fence, in order; null once released. */
  held: Buffer[] | null;
  taken: number;
  acked: number;
  ackTimer: NodeJS.Timeout | undefined;
}

/**
 * startPeerLinkListener accepts peers' links on host:port (never on the public
 * listener). Long because it is one closure over the listener's state (links,
 * early fences and unlinks, handshakes in progress); its steps are the named
 * inner functions and the upgrade handler.
 */
export async function startPeerLinkListener(options: PeerLinkListenerOptions): Promise<PeerLinkListener> {
  const links = new Map<string, InboundLink>();
  let handshakes = 0;
  // A fence read before its link finished the handshake (two connections, no
  // order between them): kept, one per source, until that link arrives.
  const earlyFences = new Map<string, string>();
  // Links unlinked before they finished the handshake, one per source.
  const unlinked = new Map<string, string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
  const server: Server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  function sendAck(link: InboundLink): void {
    clearTimeout(link.ackTimer);
    link.ackTimer = undefined;
    if (link.acked === link.taken || link.ws.readyState !== WebSocket.OPEN) return;
    link.acked = link.taken;
    link.ws.send(encodeAck(link.taken));
  }

  function take(link: InboundLink, data: Buffer): void {
    const frame = decodeLinkFrame(data, link.source);
    link.taken++;
    if (!frame) options.log.debug('peer_link_message_malformed', { sourceRelayId: link.source });
    else options.deliver(frame, isLossMessage(data));
    if (link.taken - link.acked >= options.ackEvery) sendAck(link);
    else link.ackTimer ??= setTimeout(() => sendAck(link), options.ackDelayMs);
  }

  function release(link: InboundLink): void {
    const held = link.held;
    if (held === null) return;
    link.held = null;
    for (const data of held) take(link, data);
  }

  function drop(link: InboundLink, code: number, reason: string): void {
    if (links.get(link.source) === link) links.delete(link.source);
    clearTimeout(link.ackTimer);
    link.held = null;
    link.ws.removeAllListeners('message');
    if (link.ws.readyState === WebSocket.OPEN || link.ws.readyState === WebSocket.CONNECTING) link.ws.close(code, reason);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    const source = url.searchParams.get('source');
    const nonce = url.searchParams.get('nonce');
    if (url.pathname !== PEER_LINK_PATH || !source || !nonce || source.length > 256 || nonce.length > 64) {
      rejectUpgrade(socket, 400);
      return;
    }
    // Links are few (one per peer relay); a crowd of unfinished handshakes is not a peer.
    if (handshakes >= MAX_HANDSHAKES) {
      rejectUpgrade(socket, 503);
      return;
    }
    handshakes++;
    let counted = true;
    const handshakeDone = () => {
      if (counted) handshakes--;
      counted = false;
    };
    socket.once('close', handshakeDone);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const listenerNonce = randomBytes(NONCE_BYTES);
      const hello = Buffer.allocUnsafe(1 + NONCE_BYTES + PROOF_BYTES);
      hello[0] = HELLO;
      listenerNonce.copy(hello, 1);
      linkProof(options.key, 'listener', source, options.relayId, nonce, listenerNonce).copy(hello, 1 + NONCE_BYTES);
      ws.send(hello);
      const link: InboundLink = { source, nonce, ws, authenticated: false, held: [], taken: 0, acked: 0, ackTimer: undefined };
      const handshakeTimer = setTimeout(() => ws.terminate(), HANDSHAKE_TIMEOUT_MS);
      ws.on('message', (raw: RawData) => {
        const data = raw as Buffer;
        if (!link.authenticated) {
          clearTimeout(handshakeTimer);
          handshakeDone();
          const expected = linkProof(options.key, 'dialer', source, options.relayId, nonce, listenerNonce);
          if (data.length !== 1 + PROOF_BYTES || data[0] !== AUTH || !proofMatches(data.subarray(1), expected)) {
            options.log.warn('peer_link_auth_failed', { sourceRelayId: source });
            // One attempt per connection: nothing it sends from here on is read.
            ws.removeAllListeners('message');
            ws.close(1008, 'authentication failed');
            return;
          }
          if (unlinked.get(source) === nonce) {
            unlinked.delete(source);
            ws.removeAllListeners('message');
            ws.close(1000, 'unlinked');
            return;
          }
          link.authenticated = true;
          // One link per source: a newer one means the older was given up.
          const previous = links.get(source);
          if (previous) drop(previous, 1000, 'replaced');
          links.set(source, link);
          if (earlyFences.get(source) === nonce) {
            earlyFences.delete(source);
            release(link);
          }
          return;
        }
        if (link.held === null) {
          take(link, data);
          return;
        }
        if (link.held.length >= options.maxHeld) {
          options.log.warn('peer_link_fence_overdue', { sourceRelayId: source, held: link.held.length });
          drop(link, 1013, 'fence overdue');
          return;
        }
        link.held.push(data);
      });
      ws.on('close', () => {
        clearTimeout(handshakeTimer);
        drop(link, 1000, 'closed');
      });
      ws.on('error', () => drop(link, 1011, 'error'));
    });
  });

  await listen(server, options.port, options.host);
  server.on('error', (error: Error) => options.log.error('peer_listener_error', { error: error.message }));

  return {
    port: () => (server.address() as AddressInfo).port,
    fence(source, nonce) {
      const link = links.get(source);
      if (link && link.nonce === nonce) {
        release(link);
        return;
      }
      if (earlyFences.size >= 1024) earlyFences.clear();
      earlyFences.set(source, nonce);
    },
    unlink(source, nonce) {
      const link = links.get(source);
      if (link && link.nonce === nonce) {
        drop(link, 1000, 'unlinked');
        return;
      }
      // The link may not have finished its handshake yet: it must never count.
      if (earlyFences.get(source) === nonce) earlyFences.delete(source);
      if (unlinked.size >= 1024) unlinked.clear();
      unlinked.set(source, nonce);
    },
    links: () => links.size,
    async close() {
      for (const link of [...links.values()]) drop(link, 1001, 'relay stopping');
      // Unfinished handshakes and peers that never answer the close frame must
      // not hold the relay's shutdown (ws would wait 30 s for them).
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
