// Peer links on their own: the link message codec and proof (pure), then a
// real listener on 127.0.0.1 port 0 with real dialers and raw ws clients for
// the handshake, the fence, acks, loss hand-back and link replacement.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { waitFor } from '../../test/backplane/wait-for.js';
import type { BusFrame } from './backplane.js';
import {
  decodeAck,
  decodeLinkFrame,
  dialPeerLink,
  encodeAck,
  encodeLinkFrame,
  linkProof,
  OutboundLink,
  PEER_LINK_PATH,
  peerDialUrl,
  startPeerLinkListener,
  type PeerLinkListener,
  type PeerLinkListenerOptions,
  type PendingFrame,
} from './peer-link.js';

const KEY = 'peer-link-test-bus-key-0123456789';
const SOURCE = 'relay-a';
const TARGET = 'relay-b';
const WAIT_MS = 5000;

const base: BusFrame = {
  workspaceId: 'ws_1',
  runtimeTargetId: 'rt_1',
  sourceRelayId: SOURCE,
  targetRelayId: TARGET,
  direction: 'client_to_daemon',
  payload: '{"type":"e2ee","ciphertext":"AAAA"}',
};

/** numbered is frame n of a sequence, told apart by its payload. */
function numbered(n: number): BusFrame {
  return { ...base, payload: `{"n":${n}}` };
}

/**
 * decoded reads a link message and checks that the frame's payloadBytes are
 * its payload's UTF-8 (what the receiving hub forwards); returns the frame
 * without them, to compare with what was sent.
 */
function decoded(data: Buffer, sourceRelayId: string): BusFrame | null {
  const frame = decodeLinkFrame(data, sourceRelayId);
  if (frame === null) return null;
  const { payloadBytes, ...rest } = frame;
  expect(payloadBytes?.equals(Buffer.from(frame.payload, 'utf8'))).toBe(true);
  return rest;
}

/** payloads lists the sequence numbers of delivered frames, in delivery order. */
function payloads(frames: readonly { readonly payload: string }[]): number[] {
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

function rawMessage(message: RawMessage = {}): Buffer {
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
  parts.push(Buffer.from(message.payload ?? 'x', 'utf8'));
  return Buffer.concat(parts);
}

describe('link frame codec', () => {
  it.each<[string, BusFrame]>([
    ['a client frame without machineId or issuedAtMs', base],
    ['a daemon frame with machineId and issuedAtMs', { ...base, direction: 'daemon_to_clients', machineId: 'm-1', issuedAtMs: 1_700_000_000_123 }],
    ['an empty machineId', { ...base, machineId: '' }],
    ['an empty payload', { ...base, payload: '' }],
    ['non-ASCII ids and payload', { ...base, workspaceId: 'wé_日本', runtimeTargetId: 'rt-🚀', machineId: '机器', targetRelayId: 'relay-ü', payload: '{"text":"héllo 🌍 — ✓"}' }],
    ['issuedAtMs of zero', { ...base, issuedAtMs: 0 }],
    ['a payload of 100 kB', { ...base, payload: 'é'.repeat(50_000) }],
  ])('round-trips %s', (_name, frame) => {
    expect(decoded(encodeLinkFrame(frame), frame.sourceRelayId)).toStrictEqual(frame);
  });

  it('writes a frame that carries its payload as bytes exactly as one that carries only the text', () => {
    for (const payload of ['', '{"type":"e2ee","ciphertext":"AAAA"}', '{"text":"héllo 🌍"}', 'A'.repeat(20_000)]) {
      const frame = { ...base, machineId: 'm-1', issuedAtMs: 7, payload };
      expect(encodeLinkFrame({ ...frame, payloadBytes: Buffer.from(payload, 'utf8') })).toStrictEqual(encodeLinkFrame(frame));
    }
  });

  it('hands the payload bytes over as they arrived', () => {
    const data = encodeLinkFrame({ ...base, payload: '{"n":1}' });
    const frame = decodeLinkFrame(data, SOURCE);
    expect(frame?.payloadBytes?.toString('utf8')).toBe('{"n":1}');
    // A view of the message, not a copy.
    expect(frame?.payloadBytes?.buffer).toBe(data.buffer);
  });

  it('takes the source from the link, never from the frame', () => {
    const decoded = decodeLinkFrame(encodeLinkFrame({ ...base, sourceRelayId: 'relay-claimed' }), 'relay-linked');
    expect(decoded?.sourceRelayId).toBe('relay-linked');
  });

  it('sends a null target as the empty target (which bus checks treat as null)', () => {
    expect(decodeLinkFrame(encodeLinkFrame({ ...base, targetRelayId: null }), SOURCE)?.targetRelayId).toBe('');
  });

  it('refuses a field too long for its 2-byte length', () => {
    expect(() => encodeLinkFrame({ ...base, workspaceId: 'w'.repeat(0xffff) })).toThrow(RangeError);
    expect(decodeLinkFrame(encodeLinkFrame({ ...base, workspaceId: 'w'.repeat(0xfffe) }), SOURCE)?.workspaceId).toHaveLength(0xfffe);
  });

  it('round-trips any frame (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    const frames = fc.record(
      {
        workspaceId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        runtimeTargetId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        machineId: text,
        sourceRelayId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        targetRelayId: text,
        direction: fc.constantFrom('client_to_daemon' as const, 'daemon_to_clients' as const),
        payload: fc.string({ unit: 'grapheme', maxLength: 400 }),
        issuedAtMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      },
      { requiredKeys: ['workspaceId', 'runtimeTargetId', 'sourceRelayId', 'targetRelayId', 'direction', 'payload'] },
    );
    fc.assert(
      fc.property(frames, (generated) => {
        // fast-check builds records without a prototype; a plain copy compares strictly with the decoded object.
        const frame: BusFrame = { ...generated };
        expect(decoded(encodeLinkFrame(frame), frame.sourceRelayId)).toStrictEqual(frame);
      }),
    );
  });

  it('reads a hand-built message (the documented layout)', () => {
    const data = rawMessage({ direction: 1, issuedAtMs: 42, heads: ['w', 'r', 'm', 't'], payload: 'p' });
    expect(decoded(data, 's')).toStrictEqual({
      workspaceId: 'w',
      runtimeTargetId: 'r',
      machineId: 'm',
      sourceRelayId: 's',
      targetRelayId: 't',
      direction: 'daemon_to_clients',
      payload: 'p',
      issuedAtMs: 42,
    });
    expect(decoded(rawMessage({ heads: ['w', 'r', null, 't'], payload: '' }), 's')).toStrictEqual({
      workspaceId: 'w',
      runtimeTargetId: 'r',
      sourceRelayId: 's',
      targetRelayId: 't',
      direction: 'client_to_daemon',
      payload: '',
    });
  });

  it('returns null for every truncation inside the fields', () => {
    const data = encodeLinkFrame({ ...base, machineId: 'm-1', payload: 'payload' });
    const fieldsEnd = data.length - 'payload'.length;
    for (let length = 0; length < fieldsEnd; length++) {
      expect(decodeLinkFrame(data.subarray(0, length), SOURCE), `truncated to ${length} bytes`).toBeNull();
    }
    expect(decodeLinkFrame(data.subarray(0, fieldsEnd), SOURCE)?.payload).toBe('');
  });

  it.each<[string, Buffer]>([
    ['an empty message', Buffer.alloc(0)],
    ['an ack', encodeAck(3)],
    ['a wrong type byte', rawMessage({ type: 9 })],
    ['the hello type byte', rawMessage({ type: 3 })],
    ['an unknown direction byte', rawMessage({ direction: 2 })],
    ['direction 255', rawMessage({ direction: 255 })],
    ['an empty workspaceId', rawMessage({ heads: ['', 'rt_1', null, TARGET] })],
    ['an empty runtimeTargetId', rawMessage({ heads: ['ws_1', '', null, TARGET] })],
    ['an absent workspaceId', rawMessage({ heads: [null, 'rt_1', null, TARGET] })],
    ['an absent runtimeTargetId', rawMessage({ heads: ['ws_1', null, null, TARGET] })],
    ['a missing target', rawMessage({ heads: ['ws_1', 'rt_1', 'm-1', null] })],
  ])('returns null for %s', (_name, data) => {
    expect(decodeLinkFrame(data, SOURCE)).toBeNull();
  });

  it.each([0, 1, 2, 3])('returns null when field %i claims a length past the end', (field) => {
    const data = rawMessage({ heads: ['ws_1', 'rt_1', 'm-1', TARGET], payload: '' });
    let at = 10;
    for (let i = 0; i < field; i++) at += 2 + data.readUInt16BE(at);
    data.writeUInt16BE(data.length - at - 2 + 1, at);
    expect(decodeLinkFrame(data, SOURCE)).toBeNull();
  });

  it('drops an absent (NaN) issuedAtMs', () => {
    expect(decodeLinkFrame(rawMessage({ issuedAtMs: Number.NaN }), SOURCE)).not.toHaveProperty('issuedAtMs');
  });
});

describe('ack codec', () => {
  it.each([0, 1, 4, 1023, 2 ** 40, Number.MAX_SAFE_INTEGER])('round-trips %i', (count) => {
    expect(decodeAck(encodeAck(count))).toBe(count);
  });

  it.each<[string, Buffer]>([
    ['an empty message', Buffer.alloc(0)],
    ['a short message', encodeAck(1).subarray(0, 8)],
    ['a long message', Buffer.concat([encodeAck(1), Buffer.from([0])])],
    ['a frame type byte', Buffer.from([1, ...encodeAck(1).subarray(1)])],
    ['a negative count', encodeAck(-1)],
    ['a fractional count', encodeAck(1.5)],
    ['NaN', encodeAck(Number.NaN)],
    ['infinity', encodeAck(Number.POSITIVE_INFINITY)],
    ['a count past the safe integers', encodeAck(2 ** 53)],
  ])('returns null for %s', (_name, data) => {
    expect(decodeAck(data)).toBeNull();
  });
});

describe('linkProof', () => {
  const nonce = 'dialer-nonce';
  const listenerNonce = Buffer.alloc(16, 7);
  const proof = linkProof(KEY, 'listener', SOURCE, TARGET, nonce, listenerNonce);

  it('is a 32-byte HMAC, the same for the same inputs', () => {
    expect(proof).toHaveLength(32);
    expect(linkProof(KEY, 'listener', SOURCE, TARGET, nonce, Buffer.from(listenerNonce))).toEqual(proof);
  });

  it.each<[string, Buffer]>([
    ['the role (turned around)', linkProof(KEY, 'dialer', SOURCE, TARGET, nonce, listenerNonce)],
    ['the dialer id', linkProof(KEY, 'listener', 'relay-x', TARGET, nonce, listenerNonce)],
    ['the listener id', linkProof(KEY, 'listener', SOURCE, 'relay-x', nonce, listenerNonce)],
    ['the ids swapped', linkProof(KEY, 'listener', TARGET, SOURCE, nonce, listenerNonce)],
    ['the dialer nonce', linkProof(KEY, 'listener', SOURCE, TARGET, 'other-nonce', listenerNonce)],
    ['the listener nonce', linkProof(KEY, 'listener', SOURCE, TARGET, nonce, Buffer.alloc(16, 8))],
    ['the key', linkProof(`${KEY}x`, 'listener', SOURCE, TARGET, nonce, listenerNonce)],
  ])('differs when %s differs', (_name, other) => {
    expect(other.equals(proof)).toBe(false);
  });
});

describe('peerDialUrl', () => {
  it('puts the peer path, source and nonce on the advertised base, dropping its own path and query', () => {
    const url = new URL(peerDialUrl('ws://10.0.0.7:9000/ignored?x=1', 'relay a/ü', 'n-1'));
    expect(url.host).toBe('10.0.0.7:9000');
    expect(url.pathname).toBe(PEER_LINK_PATH);
    expect([...url.searchParams]).toEqual([
      ['source', 'relay a/ü'],
      ['nonce', 'n-1'],
    ]);
  });
});

// ---- Real sockets from here on. ----

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogEntry {
  readonly level: string;
  readonly event: string;
  readonly details: Record<string, unknown> | undefined;
}

interface TestListener {
  readonly listener: PeerLinkListener;
  readonly url: string;
  readonly delivered: BusFrame[];
  readonly logs: LogEntry[];
}

async function listen(overrides: Partial<PeerLinkListenerOptions> = {}): Promise<TestListener> {
  const delivered: BusFrame[] = [];
  const logs: LogEntry[] = [];
  const listener = await startPeerLinkListener({
    relayId: TARGET,
    key: KEY,
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 256 * 1024,
    maxHeld: 1000,
    ackEvery: 1,
    ackDelayMs: 60_000,
    deliver: (frame) => delivered.push(frame),
    log: (level, event, details) => logs.push({ level, event, details }),
    ...overrides,
  });
  cleanups.push(() => listener.close());
  return { listener, url: `ws://127.0.0.1:${listener.port()}`, delivered, logs };
}

/** track terminates a socket after the test, whatever state it is in. */
function track(ws: WebSocket): WebSocket {
  cleanups.push(() => ws.terminate());
  return ws;
}

interface Closed {
  code: number;
  reason: string;
}

/** closedOf records how a socket closed, once it has. */
function closedOf(ws: WebSocket): { closed: Closed | undefined } {
  const state: { closed: Closed | undefined } = { closed: undefined };
  ws.on('close', (code: number, reason: Buffer) => {
    state.closed = { code, reason: reason.toString() };
  });
  return state;
}

/** roundTrip pings through a socket: the peer has handled every message sent before it once the pong is back. */
async function roundTrip(ws: WebSocket): Promise<void> {
  await new Promise<void>((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });
}

interface TestLink {
  readonly ws: WebSocket;
  readonly nonce: string;
  readonly link: OutboundLink<BusFrame>;
  readonly closed: { closed: Closed | undefined };
  /** Every settle call, in call order. */
  readonly settled: { n: number; delivered: boolean }[];
  /** Every batch handed to onLost. */
  readonly lost: PendingFrame<BusFrame>[][];
  send(n: number): void;
}

async function openLink(at: TestListener, options: { source?: string; target?: string; key?: string } = {}): Promise<TestLink> {
  const { ws, nonce } = await dialPeerLink({
    url: at.url,
    sourceRelayId: options.source ?? SOURCE,
    targetRelayId: options.target ?? TARGET,
    key: options.key ?? KEY,
    timeoutMs: WAIT_MS,
  });
  track(ws);
  const link = new OutboundLink<BusFrame>(options.target ?? TARGET, nonce, ws, 60_000);
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
    send(n) {
      const frame = numbered(n);
      link.send(frame, encodeLinkFrame(frame), (delivered) => settled.push({ n, delivered }));
    },
  };
}

/** linked starts a listener and opens one link to it, registered on the listener side (not yet fenced). */
async function linked(overrides: Partial<PeerLinkListenerOptions> = {}): Promise<{ at: TestListener; peer: TestLink }> {
  const at = await listen(overrides);
  const peer = await openLink(at);
  await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
  return { at, peer };
}

/** plainServer is a bare ws server on 127.0.0.1 port 0, standing in for a peer that is not a relay. */
async function plainServer(): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  cleanups.push(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** rawPeer opens a bare ws client on the peer path and collects what the listener sends. */
async function rawPeer(url: string, source: string, nonce: string): Promise<{ ws: WebSocket; messages: Buffer[]; closed: { closed: Closed | undefined } }> {
  const ws = track(new WebSocket(peerDialUrl(url, source, nonce), { perMessageDeflate: false }));
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

/** authOf answers a listener hello as the dialer would, with the given key. */
function authOf(hello: Buffer, key: string, source: string, nonce: string): Buffer {
  expect(hello).toHaveLength(1 + 16 + 32);
  expect(hello[0]).toBe(3);
  const proof = linkProof(key, 'dialer', source, TARGET, nonce, Buffer.from(hello.subarray(1, 17)));
  return Buffer.concat([Buffer.from([4]), proof]);
}

describe('peer link handshake', () => {
  it('links a dialer holding the key to the relay it meant', async () => {
    const at = await listen();
    const { nonce } = await openLink(at);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
  });

  it('refuses a listener with another key: the dialer rejects and no link appears', async () => {
    const at = await listen();
    await expect(openLink(at, { key: `${KEY}-other` })).rejects.toThrow(/prove/);
    // The dialer gave up before sending its proof, so the listener cannot have linked it.
    expect(at.listener.links()).toBe(0);
  });

  it('refuses a listener that is another relay than the target', async () => {
    const at = await listen({ relayId: 'relay-c' });
    await expect(openLink(at, { target: TARGET })).rejects.toThrow(/target relay/);
    expect(at.listener.links()).toBe(0);
  });

  it('closes a dialer whose proof uses another key (1008), logging the source and never the key', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    peer.ws.send(authOf(peer.messages[0]!, `${KEY}-other`, SOURCE, 'n-1'));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.logs).toContainEqual({ level: 'warn', event: 'peer_link_auth_failed', details: { sourceRelayId: SOURCE } });
    expect(JSON.stringify(at.logs)).not.toContain(KEY);
    expect(at.listener.links()).toBe(0);
  });

  it('closes a dialer whose proof names another source than it dialled as', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    peer.ws.send(authOf(peer.messages[0]!, KEY, 'relay-x', 'n-1'));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.listener.links()).toBe(0);
  });

  it('closes a client that sends a frame instead of its proof, delivering nothing even after a fence', async () => {
    const at = await listen();
    at.listener.fence(SOURCE, 'n-1');
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    peer.ws.send(encodeLinkFrame(numbered(1)));
    peer.ws.send(encodeLinkFrame(numbered(2)));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.logs.map((entry) => entry.event)).toContain('peer_link_auth_failed');
    expect(at.delivered).toEqual([]);
    expect(at.listener.links()).toBe(0);
  });

  it('accepts a hand-made handshake with the right proof', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    const hello = peer.messages[0]!;
    // The listener proves it is TARGET and holds the key, answering this nonce.
    expect(hello.subarray(17).equals(linkProof(KEY, 'listener', SOURCE, TARGET, 'n-1', Buffer.from(hello.subarray(1, 17))))).toBe(true);
    peer.ws.send(authOf(hello, KEY, SOURCE, 'n-1'));
    await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
  });

  it.each([
    ['another path', '/ws?source=relay-a&nonce=n-1'],
    ['no source', `${PEER_LINK_PATH}?nonce=n-1`],
    ['no nonce', `${PEER_LINK_PATH}?source=relay-a`],
    ['an empty source', `${PEER_LINK_PATH}?source=&nonce=n-1`],
    ['a source over 256 characters', `${PEER_LINK_PATH}?source=${'s'.repeat(257)}&nonce=n-1`],
    ['a nonce over 64 characters', `${PEER_LINK_PATH}?source=relay-a&nonce=${'n'.repeat(65)}`],
  ])('answers an upgrade with %s with HTTP 400', async (_name, path) => {
    const at = await listen();
    const ws = track(new WebSocket(`${at.url}${path}`));
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('upgraded')));
      ws.once('error', reject);
    });
    expect(status).toBe(400);
    expect(at.listener.links()).toBe(0);
  });

  it('answers plain HTTP with 404', async () => {
    const at = await listen();
    const response = await fetch(`http://127.0.0.1:${at.listener.port()}${PEER_LINK_PATH}?source=relay-a&nonce=n-1`);
    expect(response.status).toBe(404);
  });

  describe('against a listener that is not a relay', () => {
    async function fakeListener(hello: (url: URL) => Buffer): Promise<string> {
      const { wss, url } = await plainServer();
      wss.on('connection', (ws, req) => ws.send(hello(new URL(req.url ?? '/', 'http://peer'))));
      return url;
    }

    it('rejects a hello that is not one', async () => {
      const url = await fakeListener(() => encodeAck(0));
      await expect(dialPeerLink({ url, sourceRelayId: SOURCE, targetRelayId: TARGET, key: KEY, timeoutMs: WAIT_MS })).rejects.toThrow(/no valid hello/);
    });

    it('rejects a hello whose proof is a dialer proof turned around', async () => {
      const url = await fakeListener((request) => {
        const listenerNonce = randomBytes(16);
        const turned = linkProof(KEY, 'dialer', SOURCE, TARGET, request.searchParams.get('nonce') ?? '', listenerNonce);
        return Buffer.concat([Buffer.from([3]), listenerNonce, turned]);
      });
      await expect(dialPeerLink({ url, sourceRelayId: SOURCE, targetRelayId: TARGET, key: KEY, timeoutMs: WAIT_MS })).rejects.toThrow(/prove/);
    });
  });
});

describe('peer link fence', () => {
  it('holds frames until the fence for the link, then delivers them in order', async () => {
    const { at, peer } = await linked();
    for (let n = 1; n <= 5; n++) peer.send(n);
    await roundTrip(peer.ws);
    expect(at.delivered).toEqual([]);
    expect(peer.link.unacked()).toBe(5);
    at.listener.fence(SOURCE, peer.nonce);
    expect(payloads(at.delivered)).toEqual([1, 2, 3, 4, 5]);
    // Once released, frames are delivered as they arrive.
    peer.send(6);
    await waitFor(() => at.delivered.length === 6, 'the frame after the fence', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(at.delivered.every((frame) => frame.sourceRelayId === SOURCE && frame.targetRelayId === TARGET)).toBe(true);
  });

  it('releases nothing for a fence with another nonce or from another source', async () => {
    const { at, peer } = await linked();
    peer.send(1);
    peer.send(2);
    await roundTrip(peer.ws);
    at.listener.fence(SOURCE, 'not-the-nonce');
    at.listener.fence('relay-x', peer.nonce);
    await roundTrip(peer.ws);
    expect(at.delivered).toEqual([]);
    at.listener.fence(SOURCE, peer.nonce);
    expect(payloads(at.delivered)).toEqual([1, 2]);
  });

  it('keeps a fence read before its link finished the handshake (dialer)', async () => {
    const at = await listen();
    const peer = await openLink(at);
    // The dialer resolves as it sends its proof; the listener reads it on a
    // later turn of the event loop, so the link is not registered yet.
    expect(at.listener.links()).toBe(0);
    at.listener.fence(SOURCE, peer.nonce);
    for (let n = 1; n <= 3; n++) peer.send(n);
    await waitFor(() => at.delivered.length === 3, 'the frames', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1, 2, 3]);
  });

  it('keeps a fence read before the link even connected (hand-made handshake)', async () => {
    const at = await listen();
    at.listener.fence(SOURCE, 'n-early');
    const peer = await rawPeer(at.url, SOURCE, 'n-early');
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-early'));
    peer.ws.send(encodeLinkFrame(numbered(1)));
    await waitFor(() => at.delivered.length === 1, 'the frame', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1]);
  });

  it('holds frames when the early fence named another nonce', async () => {
    const at = await listen();
    at.listener.fence(SOURCE, 'n-old');
    const peer = await rawPeer(at.url, SOURCE, 'n-new');
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-new'));
    peer.ws.send(encodeLinkFrame(numbered(1)));
    await roundTrip(peer.ws);
    expect(at.listener.links()).toBe(1);
    expect(at.delivered).toEqual([]);
    at.listener.fence(SOURCE, 'n-new');
    expect(payloads(at.delivered)).toEqual([1]);
  });

  it('closes a link on unlink: held and later data never count, and the sender gets it back', async () => {
    const { at, peer } = await linked();
    peer.send(1);
    peer.send(2);
    await roundTrip(peer.ws);
    at.listener.unlink(SOURCE, peer.nonce);
    // Sent before the sender has seen the close: the listener must ignore it.
    peer.send(3);
    at.listener.fence(SOURCE, peer.nonce);
    await waitFor(() => peer.lost.length === 1, 'the loss', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1000);
    expect(at.delivered).toEqual([]);
    expect(at.listener.links()).toBe(0);
    expect(payloads(peer.lost[0]!.map((entry) => entry.frame))).toEqual([1, 2, 3]);
  });

  it('never registers a link unlinked before its handshake finished, even with its fence already read', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-dead');
    // Both markers are read from the stream before the dialer's proof arrives.
    at.listener.fence(SOURCE, 'n-dead');
    at.listener.unlink(SOURCE, 'n-dead');
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-dead'));
    peer.ws.send(encodeLinkFrame(numbered(1)));
    await waitFor(() => peer.closed.closed !== undefined, 'the unlinked link to close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1000);
    expect(at.delivered).toEqual([]);
    expect(at.listener.links()).toBe(0);
  });

  it('ignores an unlink with another nonce', async () => {
    const { at, peer } = await linked();
    at.listener.unlink(SOURCE, 'not-the-nonce');
    at.listener.fence(SOURCE, peer.nonce);
    peer.send(1);
    await waitFor(() => at.delivered.length === 1, 'the frame', WAIT_MS);
    expect(peer.link.isOpen()).toBe(true);
    expect(at.listener.links()).toBe(1);
  });

  it('closes a link holding more than maxHeld frames (1013); the sender gets every frame back', async () => {
    const { at, peer } = await linked({ maxHeld: 3 });
    for (let n = 1; n <= 5; n++) peer.send(n);
    await waitFor(() => peer.lost.length === 1, 'the loss', WAIT_MS);
    expect(peer.closed.closed).toEqual({ code: 1013, reason: 'fence overdue' });
    expect(peer.link.isOpen()).toBe(false);
    expect(payloads(peer.lost[0]!.map((entry) => entry.frame))).toEqual([1, 2, 3, 4, 5]);
    expect(at.logs).toContainEqual({ level: 'warn', event: 'peer_link_fence_overdue', details: { sourceRelayId: SOURCE, held: 3 } });
    at.listener.fence(SOURCE, peer.nonce);
    expect(at.delivered).toEqual([]);
    expect(at.listener.links()).toBe(0);
  });

  it('holds exactly maxHeld frames without closing', async () => {
    const { at, peer } = await linked({ maxHeld: 3 });
    for (let n = 1; n <= 3; n++) peer.send(n);
    await roundTrip(peer.ws);
    expect(peer.link.isOpen()).toBe(true);
    at.listener.fence(SOURCE, peer.nonce);
    expect(payloads(at.delivered)).toEqual([1, 2, 3]);
  });
});

describe('peer link acks', () => {
  it('acks every ackEvery frames, settling each frame once, in send order', async () => {
    const { at, peer } = await linked({ ackEvery: 4, ackDelayMs: 60_000 });
    at.listener.fence(SOURCE, peer.nonce);
    for (let n = 1; n <= 10; n++) peer.send(n);
    // Acks for 4 and 8 are sent before the pong; 9 and 10 wait for the delay.
    await roundTrip(peer.ws);
    expect(peer.settled).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ n, delivered: true })));
    expect(peer.link.unacked()).toBe(2);
    for (let n = 11; n <= 12; n++) peer.send(n);
    await waitFor(() => peer.link.unacked() === 0, 'all acked', WAIT_MS);
    expect(peer.settled).toEqual(Array.from({ length: 12 }, (_, i) => ({ n: i + 1, delivered: true })));
  });

  it('acks the rest after ackDelayMs', async () => {
    const { at, peer } = await linked({ ackEvery: 4, ackDelayMs: 5 });
    at.listener.fence(SOURCE, peer.nonce);
    for (let n = 1; n <= 10; n++) peer.send(n);
    await waitFor(() => peer.link.unacked() === 0, 'all acked', WAIT_MS);
    expect(peer.settled).toEqual(Array.from({ length: 10 }, (_, i) => ({ n: i + 1, delivered: true })));
    expect(payloads(at.delivered)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('acks frames released by the fence', async () => {
    const { at, peer } = await linked({ ackEvery: 4, ackDelayMs: 5 });
    for (let n = 1; n <= 6; n++) peer.send(n);
    await roundTrip(peer.ws);
    expect(peer.settled).toEqual([]);
    at.listener.fence(SOURCE, peer.nonce);
    await waitFor(() => peer.link.unacked() === 0, 'all acked', WAIT_MS);
    expect(peer.settled.map((entry) => entry.n)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('counts a malformed message as taken (acked) without delivering it', async () => {
    const { at, peer } = await linked({ ackEvery: 1 });
    at.listener.fence(SOURCE, peer.nonce);
    peer.send(1);
    peer.link.send(numbered(2), rawMessage({ direction: 7 }), (delivered) => peer.settled.push({ n: 2, delivered }));
    peer.send(3);
    await waitFor(() => peer.link.unacked() === 0, 'all acked', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1, 3]);
    expect(peer.settled.map((entry) => entry.n)).toEqual([1, 2, 3]);
    expect(at.logs.map((entry) => entry.event)).toContain('peer_link_message_malformed');
  });

  it('drops a link whose peer acks more than was sent', async () => {
    const { wss, url } = await plainServer();
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
    const ws = track(new WebSocket(url));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const link = new OutboundLink<BusFrame>(TARGET, 'n-1', ws, 60_000);
    const lost: PendingFrame<BusFrame>[][] = [];
    link.onLost((unacked) => lost.push(unacked));
    const settled: boolean[] = [];
    link.send(numbered(1), encodeLinkFrame(numbered(1)), (delivered) => settled.push(delivered));
    (await accepted).send(encodeAck(2));
    await waitFor(() => lost.length === 1, 'the loss', WAIT_MS);
    expect(settled).toEqual([]);
    expect(payloads(lost[0]!.map((entry) => entry.frame))).toEqual([1]);
  });
});

describe('peer link loss', () => {
  it('hands back exactly the unacked frames, in send order, when the listener closes', async () => {
    const { at, peer } = await linked({ ackEvery: 3, ackDelayMs: 60_000 });
    at.listener.fence(SOURCE, peer.nonce);
    for (let n = 1; n <= 5; n++) peer.send(n);
    await roundTrip(peer.ws);
    expect(peer.link.unacked()).toBe(2);
    await at.listener.close();
    await waitFor(() => peer.lost.length === 1, 'the loss', WAIT_MS);
    expect(peer.link.isOpen()).toBe(false);
    expect(peer.closed.closed?.code).toBe(1001);
    expect(payloads(peer.lost[0]!.map((entry) => entry.frame))).toEqual([4, 5]);
    // Acked frames settle true once; lost ones are left to the onLost handler.
    expect(peer.settled).toEqual([1, 2, 3].map((n) => ({ n, delivered: true })));
    expect(peer.link.unacked()).toBe(0);
    expect(payloads(at.delivered)).toEqual([1, 2, 3, 4, 5]);
  });

  it('hands back every held frame when unlinked before the fence', async () => {
    const { at, peer } = await linked();
    for (let n = 1; n <= 4; n++) peer.send(n);
    await roundTrip(peer.ws);
    at.listener.unlink(SOURCE, peer.nonce);
    await waitFor(() => peer.lost.length === 1, 'the loss', WAIT_MS);
    expect(payloads(peer.lost[0]!.map((entry) => entry.frame))).toEqual([1, 2, 3, 4]);
    expect(peer.settled).toEqual([]);
    expect(peer.link.isOpen()).toBe(false);
  });

  it('hands back nothing when every frame was acked, and the sender closing reports the same', async () => {
    const { at, peer } = await linked({ ackEvery: 1 });
    at.listener.fence(SOURCE, peer.nonce);
    for (let n = 1; n <= 3; n++) peer.send(n);
    await waitFor(() => peer.link.unacked() === 0, 'all acked', WAIT_MS);
    peer.link.close();
    await waitFor(() => peer.lost.length === 1 && at.listener.links() === 0, 'the close on both ends', WAIT_MS);
    expect(peer.lost[0]).toEqual([]);
    expect(peer.settled.map((entry) => entry.n)).toEqual([1, 2, 3]);
  });
});

describe('peer listener shutdown and limits', () => {
  it('closes at once with an unfinished handshake and a peer that failed its proof still connected', async () => {
    const at = await listen();
    await rawPeer(at.url, SOURCE, 'n-silent');
    const failed = await rawPeer(at.url, 'relay-x', 'n-bad');
    failed.ws.send(Buffer.concat([Buffer.from([4]), Buffer.alloc(32)]));
    await waitFor(() => at.logs.some((l) => l.event === 'peer_link_auth_failed'), 'the failed proof', WAIT_MS);
    const started = Date.now();
    await at.listener.close();
    // Neither the 5 s handshake timer nor ws's 30 s close timeout may hold a relay's shutdown.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reads one proof per connection: a second try after a wrong one is never read', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-retry');
    peer.ws.send(Buffer.concat([Buffer.from([4]), Buffer.alloc(32)]));
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-retry'));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.listener.links()).toBe(0);
    expect(at.logs.filter((l) => l.event === 'peer_link_auth_failed')).toHaveLength(1);
  });

  it('refuses connections past 64 unfinished handshakes with 503, and takes them again once those end', async () => {
    const at = await listen();
    const waiting = await Promise.all(Array.from({ length: 64 }, (_, i) => rawPeer(at.url, `relay-${i}`, `n-${i}`)));
    const refused = track(new WebSocket(peerDialUrl(at.url, SOURCE, 'n-65'), { perMessageDeflate: false }));
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => reject(new Error('the 65th handshake was accepted')));
      refused.once('error', () => undefined);
    });
    expect(status).toBe(503);
    for (const peer of waiting) peer.ws.terminate();
    await waitFor(async () => {
      const next = await rawPeer(at.url, SOURCE, 'n-later').catch(() => undefined);
      return next !== undefined;
    }, 'a handshake slot again', WAIT_MS);
  });

  it('settles a frame sent after the link is gone as not delivered, without keeping it', async () => {
    const { at, peer } = await linked();
    await at.listener.close();
    await waitFor(() => !peer.link.isOpen() && peer.lost.length === 1, 'the link to drop', WAIT_MS);
    peer.send(9);
    expect(peer.settled).toEqual([{ n: 9, delivered: false }]);
    expect(peer.link.unacked()).toBe(0);
  });
});

describe('peer link replacement', () => {
  it('replaces the link from a source with its newer one', async () => {
    const at = await listen();
    const first = await openLink(at);
    await waitFor(() => at.listener.links() === 1, 'the first link', WAIT_MS);
    first.send(1);
    await roundTrip(first.ws);
    const second = await openLink(at);
    await waitFor(() => first.closed.closed !== undefined, 'the first link closed', WAIT_MS);
    expect(first.closed.closed).toEqual({ code: 1000, reason: 'replaced' });
    expect(payloads(first.lost[0]!.map((entry) => entry.frame))).toEqual([1]);
    expect(at.listener.links()).toBe(1);
    // The old nonce's fence no longer releases anything; the new one's does.
    at.listener.fence(SOURCE, first.nonce);
    second.send(2);
    await roundTrip(second.ws);
    expect(at.delivered).toEqual([]);
    at.listener.fence(SOURCE, second.nonce);
    expect(payloads(at.delivered)).toEqual([2]);
  });

  it('keeps links from different sources apart', async () => {
    const at = await listen();
    const a = await openLink(at, { source: 'relay-a' });
    const c = await openLink(at, { source: 'relay-c' });
    await waitFor(() => at.listener.links() === 2, 'both links', WAIT_MS);
    at.listener.fence('relay-c', c.nonce);
    a.send(1);
    c.send(2);
    await roundTrip(a.ws);
    await roundTrip(c.ws);
    expect(at.delivered.map((frame) => [frame.sourceRelayId, frame.payload])).toEqual([['relay-c', '{"n":2}']]);
    at.listener.fence('relay-a', a.nonce);
    expect(at.delivered.map((frame) => frame.sourceRelayId)).toEqual(['relay-c', 'relay-a']);
  });
});
