// The receiving end of peer links: an HTTP server of its own on the peer-link
// port (never the public listener) that upgrades /peer, runs the listener's
// side of the handshake, checks every message's tag, holds each link's frames
// until its fence is read from the stream, then hands them to the bus
// receiver and acks them in batches. Unfinished handshakes get their own
// small budget (per source address and in all, with a short deadline), apart
// from the established links', so strangers on the port cannot keep a
// relay's peers out.
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
import { linkProof, NONCE_BYTES, parseDialRequest, PROOF_BYTES, proofMatches, type DialRefusal } from './handshake.js';
import { LinkMac, linkSessionKeys } from './link-mac.js';
import type { LinkRejectReason } from './reporting.js';

/** A handshake must finish (request to proof) within this; strangers that idle are cut. */
const HANDSHAKE_TIMEOUT_MS = 2000;
/** Unfinished handshakes at once, in all and from one source address; more are refused 503. */
const MAX_PENDING = 256;
const MAX_PENDING_PER_ADDRESS = 8;
/** Established inbound links (one per peer relay); a link past it is closed 1013. */
const MAX_LINKS = 1024;

const REFUSAL_STATUS: Record<DialRefusal, number> = { bad_path: 400, old_version: 426, bad_source: 400, bad_nonce: 400 };

export interface PeerLinkListenerOptions {
  /** This relay's id and the link-proof and link-frame subkeys of the bus key (keys.ts). */
  readonly relayId: string;
  readonly proofKey: Buffer;
  readonly frameKey: Buffer;
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
  /** reject counts and logs what was refused (reporting.ts); peer is a relay id or a source address. */
  reject(reason: LinkRejectReason, peer: string): void;
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
  /** pending is the number of unfinished handshakes (for tests). */
  pending(): number;
  close(): Promise<void>;
}

interface InboundLink {
  readonly source: string;
  readonly nonce: string;
  readonly ws: WebSocket;
  readonly opener: LinkMac;
  readonly sealer: LinkMac;
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
 * inner functions.
 */
export async function startPeerLinkListener(options: PeerLinkListenerOptions): Promise<PeerLinkListener> {
  const links = new Map<string, InboundLink>();
  // Unfinished handshakes by source address, and in all.
  const pendingByAddress = new Map<string, number>();
  let pending = 0;
  // A fence read before its link finished the handshake (two connections, no
  // order between them): kept, one per source, until that link arrives.
  const earlyFences = new Map<string, string>();
  // Links unlinked before they finished the handshake, one per source.
  const unlinked = new Map<string, string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
  // A connection that never finishes its request is cut at the handshake deadline too.
  const server: Server = createServer({ requestTimeout: HANDSHAKE_TIMEOUT_MS, headersTimeout: HANDSHAKE_TIMEOUT_MS, connectionsCheckingInterval: 500 }, (_req, res) => {
    res.writeHead(404).end();
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  function sendAck(link: InboundLink): void {
    clearTimeout(link.ackTimer);
    link.ackTimer = undefined;
    if (link.acked === link.taken || link.ws.readyState !== WebSocket.OPEN) return;
    link.acked = link.taken;
    const ack = encodeAck(link.taken);
    link.sealer.seal(ack);
    link.ws.send(ack);
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

  function receive(link: InboundLink, data: Buffer): void {
    // Checked on arrival, in arrival order: the tag covers the message's number on the link.
    if (!link.opener.open(data)) {
      options.reject('bad_tag', link.source);
      drop(link, 1008, 'bad message tag');
      return;
    }
    if (link.held === null) {
      take(link, data);
      return;
    }
    if (link.held.length >= options.maxHeld) {
      options.log.warn('peer_link_fence_overdue', { sourceRelayId: link.source, held: link.held.length });
      drop(link, 1013, 'fence overdue');
      return;
    }
    link.held.push(data);
  }

  /** establish registers a link whose dialer proved itself; false when it must not count. */
  function establish(link: InboundLink): boolean {
    const { source, nonce } = link;
    if (unlinked.get(source) === nonce) {
      unlinked.delete(source);
      link.ws.close(1000, 'unlinked');
      return false;
    }
    // One link per source: a newer one means the older was given up.
    const previous = links.get(source);
    if (previous) drop(previous, 1000, 'replaced');
    else if (links.size >= MAX_LINKS) {
      options.reject('too_many_links', source);
      link.ws.close(1013, 'too many links');
      return false;
    }
    links.set(source, link);
    if (earlyFences.get(source) === nonce) {
      earlyFences.delete(source);
      release(link);
    }
    return true;
  }

  /** handshake runs the listener's side on an upgraded socket; done frees its slot once, whatever happens. */
  function handshake(ws: WebSocket, source: string, dialerNonce: Buffer, done: () => void): void {
    const listenerNonce = randomBytes(NONCE_BYTES);
    const hello = Buffer.allocUnsafe(1 + NONCE_BYTES + PROOF_BYTES);
    hello[0] = HELLO;
    listenerNonce.copy(hello, 1);
    linkProof(options.proofKey, 'listener', source, options.relayId, dialerNonce, listenerNonce).copy(hello, 1 + NONCE_BYTES);
    ws.send(hello);
    const keys = linkSessionKeys(options.frameKey, source, options.relayId, dialerNonce, listenerNonce);
    const link: InboundLink = {
      source,
      nonce: dialerNonce.toString('base64url'),
      ws,
      opener: new LinkMac(keys.dialerToListener),
      sealer: new LinkMac(keys.listenerToDialer),
      held: [],
      taken: 0,
      acked: 0,
      ackTimer: undefined,
    };
    ws.once('message', (raw: RawData) => {
      done();
      const data = raw as Buffer;
      const expected = linkProof(options.proofKey, 'dialer', source, options.relayId, dialerNonce, listenerNonce);
      // One attempt per connection: nothing it sends from here on is read unless the proof holds.
      if (data.length !== 1 + PROOF_BYTES || data[0] !== AUTH || !proofMatches(data.subarray(1), expected)) {
        options.reject('bad_proof', source);
        ws.close(1008, 'authentication failed');
        return;
      }
      if (establish(link)) ws.on('message', (next: RawData) => receive(link, next as Buffer));
    });
    ws.on('close', () => drop(link, 1000, 'closed'));
    ws.on('error', () => drop(link, 1011, 'error'));
  }

  /** takeSlot reserves a handshake slot for address, or says why not; the returned release is idempotent. */
  function takeSlot(address: string): (() => void) | null {
    const fromAddress = pendingByAddress.get(address) ?? 0;
    if (pending >= MAX_PENDING || fromAddress >= MAX_PENDING_PER_ADDRESS) return null;
    pending++;
    pendingByAddress.set(address, fromAddress + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      pending--;
      const left = (pendingByAddress.get(address) ?? 1) - 1;
      if (left <= 0) pendingByAddress.delete(address);
      else pendingByAddress.set(address, left);
    };
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const request = parseDialRequest(req.url);
    if (!request.ok) {
      options.reject(request.reason, address);
      rejectUpgrade(socket, REFUSAL_STATUS[request.reason]);
      return;
    }
    const release = takeSlot(address);
    if (release === null) {
      options.reject('busy', address);
      rejectUpgrade(socket, 503);
      return;
    }
    // The deadline runs from the request, so a dialer slow to finish the upgrade is cut as well.
    const deadline = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    const done = () => {
      clearTimeout(deadline);
      release();
    };
    socket.once('close', done);
    wss.handleUpgrade(req, socket, head, (ws) => handshake(ws, request.source, request.nonce, done));
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
    pending: () => pending,
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
