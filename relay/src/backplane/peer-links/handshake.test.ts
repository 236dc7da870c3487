// The peer-link handshake: the proof and dial URL (pure), then a real
// listener on 127.0.0.1 port 0 against real dialers, raw ws clients and
// servers that are not relays.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  authOf,
  KEY,
  listen,
  numbered,
  openLink,
  plainServer,
  rawPeer,
  runCleanups,
  SOURCE,
  TARGET,
  track,
  WAIT_MS,
} from '../../../test/backplane/peer-link-harness.js';
import { waitFor } from '../../../test/backplane/wait-for.js';
import { encodeAck, encodeLinkFrame } from './codec.js';
import { dialPeerLink } from './dialer.js';
import { linkProof, PEER_LINK_PATH, peerDialUrl } from './handshake.js';

afterEach(runCleanups);

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
