// Shared pieces of the peer-link tests: frames told apart by their payload, a
// hand-built message writer, and real sockets on 127.0.0.1 port 0 (a listener,
// dialled links, raw ws clients, a server that is not a relay). Apart so each
// concern's test file (codec, handshake, listener, outbound) uses the same ones.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { BusFrame } from '../../src/bus/types.js';
import { deriveBusSubkeys } from '../../src/backplane/keys.js';
import { encodeLinkFrame } from '../../src/backplane/peer-links/codec.js';
import { dialPeerLink } from '../../src/backplane/peer-links/dialer.js';
import { linkProof, peerDialUrl } from '../../src/backplane/peer-links/handshake.js';
import { LinkMac, linkSessionKeys } from '../../src/backplane/peer-links/link-mac.js';
import { startPeerLinkListener, type PeerLinkListener, type PeerLinkListenerOptions } from '../../src/backplane/peer-links/listener.js';
import { OutboundLink, type OutboundFault, type PendingFrame } from '../../src/backplane/peer-links/outbound.js';
import type { LinkRejectReason } from '../../src/backplane/peer-links/reporting.js';
import { recordingLogger, type RecordedLog } from '../log-recorder.js';
import { waitFor } from './wait-for.js';

export const KEY = 'peer-link-test-bus-key-0123456789';
export const SOURCE = 'relay-a';
export const TARGET = 'relay-b';
export const WAIT_MS = 5000;
/** The subkeys of KEY a link uses, and those of another key. */
export const SUBKEYS = deriveBusSubkeys(KEY);
export const OTHER_SUBKEYS = deriveBusSubkeys(`${KEY}-other`);

/** nonceOf is a 16-byte dialer nonce named by a label (tests name their links). */
export function nonceOf(label: string): Buffer {
  return createHash('sha256').update(label).digest().subarray(0, 16);
}

/** nonceText is the nonce's form in the dial URL and in fences and unlinks. */
export const nonceText = (label: string): string => nonceOf(label).toString('base64url');

export const base: BusFrame = {
  workspaceId: 'ws_1',
  runtimeTargetId: 'rt_1',
  sourceRelayId: SOURCE,
  targetRelayId: TARGET,
  direction: 'client_to_daemon',
  payload: '{"type":"e2ee","ciphertext":"AAAA"}',
};

/** numbered is frame n of a sequence, told apart by its payload. */
export function numbered(n: number): BusFrame {
  return { ...base, payload: `{"n":${n}}` };
}

/** payloads lists the sequence numbers of delivered frames, in delivery order. */
export function payloads(frames: readonly { readonly payload: string }[]): number[] {
  return frames.map((frame) => (JSON.parse(frame.payload) as { n: number }).n);
}

// Wire layout of a frame message, built by hand so malformed variants can be made.
interface RawMessage {
  type?: number;
  direction?: number;
  issuedAtMs?: number;
  heads?: (string | null)[];
  payload?: string;
}

export function rawMessage(message: RawMessage = {}): Buffer {
  const heads = message.heads ?? ['ws_1', 'rt_1', null, TARGET];
  const head = Buffer.alloc(10);
  head[0] = message.type ?? 1;
  head[1] = message.direction ?? 0;
  head.writeDoubleBE(message.issuedAtMs ?? Number.NaN, 2);
  const parts = [head];
  for (const text of heads) {
    const length = Buffer.alloc(2);
    if (text === null) {
      length.writeUInt16BE(0xffff);
      parts.push(length);
      continue;
    }
    const bytes = Buffer.from(text, 'utf8');
    length.writeUInt16BE(bytes.length);
    parts.push(length, bytes);
  }
  parts.push(Buffer.from(message.payload ?? 'x', 'utf8'), Buffer.alloc(16));
  return Buffer.concat(parts);
}

/** cleanups run after each test, last first: every socket test file calls runCleanups in afterEach. */
const cleanups: (() => Promise<void> | void)[] = [];

export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export interface TestListener {
  readonly listener: PeerLinkListener;
  readonly url: string;
  readonly delivered: BusFrame[];
  readonly logs: RecordedLog[];
  /** Every rejection reported, with the peer it names. */
  readonly rejections: { reason: LinkRejectReason; peer: string }[];
}

export async function listen(overrides: Partial<PeerLinkListenerOptions> = {}): Promise<TestListener> {
  const delivered: BusFrame[] = [];
  const logs: RecordedLog[] = [];
  const rejections: { reason: LinkRejectReason; peer: string }[] = [];
  const listener = await startPeerLinkListener({
    relayId: TARGET,
    proofKey: SUBKEYS.linkProof,
    frameKey: SUBKEYS.linkFrame,
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 256 * 1024,
    maxHeld: 1000,
    ackEvery: 1,
    ackDelayMs: 60_000,
    deliver: (frame) => delivered.push(frame),
    reject: (reason, peer) => rejections.push({ reason, peer }),
    log: recordingLogger(logs),
    ...overrides,
  });
  onCleanup(() => listener.close());
  return { listener, url: `ws://127.0.0.1:${listener.port()}`, delivered, logs, rejections };
}

/** track terminates a socket after the test, whatever state it is in. */
export function track(ws: WebSocket): WebSocket {
  onCleanup(() => ws.terminate());
  return ws;
}

export interface Closed {
  code: number;
  reason: string;
}

/** closedOf records how a socket closed, once it has. */
export function closedOf(ws: WebSocket): { closed: Closed | undefined } {
  const state: { closed: Closed | undefined } = { closed: undefined };
  ws.on('close', (code: number, reason: Buffer) => {
    state.closed = { code, reason: reason.toString() };
  });
  return state;
}

/** roundTrip pings through a socket: the peer has handled every message sent before it once the pong is back. */
export async function roundTrip(ws: WebSocket): Promise<void> {
  await new Promise<void>((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });
}

export interface TestLink {
  readonly ws: WebSocket;
  readonly nonce: string;
  readonly link: OutboundLink<BusFrame>;
  readonly closed: { closed: Closed | undefined };
  /** Every settle call, in call order. */
  readonly settled: { n: number; delivered: boolean }[];
  /** Every batch handed to onLost. */
  readonly lost: PendingFrame<BusFrame>[][];
  /** Every fault the link reported. */
  readonly faults: OutboundFault[];
  send(n: number): void;
}

export async function openLink(at: TestListener, options: { source?: string; target?: string; key?: string } = {}): Promise<TestLink> {
  const subkeys = options.key === undefined ? SUBKEYS : deriveBusSubkeys(options.key);
  const { ws, nonce, keys } = await dialPeerLink({
    url: at.url,
    sourceRelayId: options.source ?? SOURCE,
    targetRelayId: options.target ?? TARGET,
    proofKey: subkeys.linkProof,
    frameKey: subkeys.linkFrame,
    timeoutMs: WAIT_MS,
  });
  track(ws);
  const faults: OutboundFault[] = [];
  const link = new OutboundLink<BusFrame>(options.target ?? TARGET, nonce, ws, keys, { pingIntervalMs: 60_000, onFault: (fault) => faults.push(fault) });
  const settled: { n: number; delivered: boolean }[] = [];
  const lost: PendingFrame<BusFrame>[][] = [];
  link.onLost((unacked) => lost.push(unacked));
  return {
    ws,
    nonce,
    link,
    closed: closedOf(ws),
    settled,
    lost,
    faults,
    send(n) {
      const frame = numbered(n);
      link.send(frame, encodeLinkFrame(frame), (delivered) => settled.push({ n, delivered }));
    },
  };
}

/** linked starts a listener and opens one link to it, registered on the listener side (not yet fenced). */
export async function linked(overrides: Partial<PeerLinkListenerOptions> = {}): Promise<{ at: TestListener; peer: TestLink }> {
  const at = await listen(overrides);
  const peer = await openLink(at);
  await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
  return { at, peer };
}

/** plainServer is a bare ws server on 127.0.0.1 port 0, standing in for a peer that is not a relay. */
export async function plainServer(): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  onCleanup(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** rawPeer opens a bare ws client on the peer path (its nonce named by label) and collects what the listener sends. */
export async function rawPeer(
  url: string,
  source: string,
  label: string,
  options: { localAddress?: string } = {},
): Promise<{ ws: WebSocket; messages: Buffer[]; closed: { closed: Closed | undefined } }> {
  const ws = track(new WebSocket(peerDialUrl(url, source, nonceOf(label)), { perMessageDeflate: false, ...options }));
  const messages: Buffer[] = [];
  ws.on('message', (raw: RawData) => messages.push(raw as Buffer));
  const closed = closedOf(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await waitFor(() => messages.length > 0, 'the listener hello', WAIT_MS);
  return { ws, messages, closed };
}

/** authOf answers a listener hello as the dialer would, with the given key's subkey. */
export function authOf(hello: Buffer, key: string, source: string, label: string): Buffer {
  expect(hello).toHaveLength(1 + 16 + 32);
  expect(hello[0]).toBe(6);
  const proof = linkProof(deriveBusSubkeys(key).linkProof, 'dialer', source, TARGET, nonceOf(label), Buffer.from(hello.subarray(1, 17)));
  return Buffer.concat([Buffer.from([4]), proof]);
}

/** sealerOf is the dialer's sealer for the link a hello opened (KEY, TARGET). */
export function sealerOf(hello: Buffer, source: string, label: string): LinkMac {
  return new LinkMac(linkSessionKeys(SUBKEYS.linkFrame, source, TARGET, nonceOf(label), Buffer.from(hello.subarray(1, 17))).dialerToListener);
}

/** sealedFrame is frame n encoded and sealed with mac (the next message of its link). */
export function sealedFrame(mac: LinkMac, n: number): Buffer {
  const data = encodeLinkFrame(numbered(n));
  mac.seal(data);
  return data;
}
