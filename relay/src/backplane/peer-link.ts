// Direct relay-to-relay links for redis mode. A frame for another relay goes
// over a WebSocket to it instead of through its Redis stream: one hop and one
// wake-up each side instead of three processes and six wake-ups per hop. Redis
// stays the source of truth: it finds peers, carries every frame while no link
// is up, and orders the switch between the two paths with markers (fence,
// unlink) written to the target's stream (docs/backplane.md, "Peer links").
// Both ends prove they hold the bus key once, when the link is set up (an HMAC
// challenge each way); frames on the link then carry no signature, which is
// what makes them cheap: signing, verifying and the replay guard cost a relay
// more per frame than the link itself.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { BackplaneLog, BusDirection, BusFrame } from './backplane.js';
import { busPayloadSize } from '../bus/payload-size.js';
import { listen } from '../net/listen.js';
import { rejectUpgrade } from '../net/reject.js';

const FRAME = 1;
const ACK = 2;
const HELLO = 3;
const AUTH = 4;
/** A loss marker: the frame stands for frames refused after it, like a stream's loss entry. */
const LOSS = 5;
const NONCE_BYTES = 16;
const PROOF_BYTES = 32;
/** The path a peer dials; the only one the peer listener upgrades. */
export const PEER_LINK_PATH = '/peer';

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

function proofMatches(given: Buffer, expected: Buffer): boolean {
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

/** startPeerLinkListener accepts peers' links on host:port (never on the public listener). */
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
    if (!frame) options.log('debug', 'peer_link_message_malformed', { sourceRelayId: link.source });
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
            options.log('warn', 'peer_link_auth_failed', { sourceRelayId: source });
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
          options.log('warn', 'peer_link_fence_overdue', { sourceRelayId: source, held: link.held.length });
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
  server.on('error', (error: Error) => options.log('error', 'peer_listener_error', { error: error.message }));

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

const HANDSHAKE_TIMEOUT_MS = 5000;
/** Connections still in their handshake at once; more are refused 503. */
const MAX_HANDSHAKES = 64;

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

/** PendingFrame is a frame sent on a link and not yet acknowledged. */
export interface PendingFrame<F> {
  readonly frame: F;
  readonly settle: (delivered: boolean) => void;
}

/**
 * OutboundLink is the sending end of one link. Frames are acknowledged in
 * batches; when the link drops, the frames still unacknowledged are handed
 * back (their fate is unknown, so the caller reports them lost).
 */
export class OutboundLink<F> {
  private readonly pending: PendingFrame<F>[] = [];
  private head = 0;
  private sent = 0;
  private acked = 0;
  private lostHandler: ((unacked: PendingFrame<F>[]) => void) | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private gone = false;

  constructor(
    readonly targetRelayId: string,
    readonly nonce: string,
    private readonly ws: WebSocket,
    pingIntervalMs: number,
  ) {
    ws.on('message', (raw: RawData) => {
      const count = decodeAck(raw as Buffer);
      if (count !== null) this.ack(count);
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    // A peer that stops answering pings is gone even if TCP has not noticed.
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, pingIntervalMs);
    this.pingTimer.unref();
    ws.on('close', () => this.lost());
    ws.on('error', () => ws.terminate());
  }

  /** isOpen says whether frames may still be sent. */
  isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** unacked is how many frames wait for an ack. */
  unacked(): number {
    return this.sent - this.acked;
  }

  /** sentCount and ackedCount are the link's message counts so far (positions for loss-marker guards). */
  sentCount(): number {
    return this.sent;
  }

  ackedCount(): number {
    return this.acked;
  }

  /** send writes one encoded frame; settle runs with true when acked, or is handed to onLost. */
  send(frame: F, data: Buffer, settle: (delivered: boolean) => void): void {
    if (this.gone) {
      settle(false);
      return;
    }
    this.pending.push({ frame, settle });
    this.sent++;
    this.ws.send(data);
  }

  /** onLost registers what to do with the unacknowledged frames once the link is gone. */
  onLost(handler: (unacked: PendingFrame<F>[]) => void): void {
    this.lostHandler = handler;
  }

  close(code = 1000, reason = 'closing'): void {
    this.ws.close(code, reason);
  }

  /**
   * abandon drops the link at once and hands back its unacknowledged frames
   * before it returns, so whatever the caller sends next by another path is
   * ordered after the loss handling (the 'close' event would come a turn later).
   */
  abandon(): void {
    this.ws.terminate();
    this.lost();
  }

  private ack(count: number): void {
    if (count > this.sent) {
      this.ws.terminate();
      return;
    }
    while (this.acked < count) {
      const entry = this.pending[this.head++]!;
      this.acked++;
      entry.settle(true);
    }
    // Compact now and then so the queue does not grow with the link's age.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    clearInterval(this.pingTimer);
    const unacked = this.pending.slice(this.head);
    this.pending.length = 0;
    this.head = 0;
    this.acked = this.sent;
    this.lostHandler?.(unacked);
  }
}
