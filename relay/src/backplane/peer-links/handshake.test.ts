// The peer-link handshake: the proof, dial URL and dial request checks
// (pure), then a real listener on 127.0.0.1 port 0 against real dialers, raw
// ws clients and servers that are not relays.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  authOf,
  KEY,
  listen,
  nonceOf,
  nonceText,
  numbered,
  openLink,
  OTHER_SUBKEYS,
  plainServer,
  rawPeer,
  runCleanups,
  SOURCE,
  SUBKEYS,
  TARGET,
  track,
  WAIT_MS,
} from '../../../test/backplane/peer-link-harness.js';
import { waitFor } from '../../../test/backplane/wait-for.js';
import { encodeAck, encodeLinkFrame } from './codec.js';
import { dialPeerLink, PeerVersionError } from './dialer.js';
import { isLinkableRelayId, linkProof, parseDialRequest, PEER_LINK_PATH, peerDialUrl } from './handshake.js';

afterEach(runCleanups);

describe('linkProof', () => {
  const key = SUBKEYS.linkProof;
  const nonce = nonceOf('dialer-nonce');
  const listenerNonce = Buffer.alloc(16, 7);
  const proof = linkProof(key, 'listener', SOURCE, TARGET, nonce, listenerNonce);

  it('is a 32-byte HMAC, the same for the same inputs', () => {
    expect(proof).toHaveLength(32);
    expect(linkProof(key, 'listener', SOURCE, TARGET, Buffer.from(nonce), Buffer.from(listenerNonce))).toEqual(proof);
  });

  it.each<[string, Buffer]>([
    ['the role (turned around)', linkProof(key, 'dialer', SOURCE, TARGET, nonce, listenerNonce)],
    ['the dialer id', linkProof(key, 'listener', 'relay-x', TARGET, nonce, listenerNonce)],
    ['the listener id', linkProof(key, 'listener', SOURCE, 'relay-x', nonce, listenerNonce)],
    ['the ids swapped', linkProof(key, 'listener', TARGET, SOURCE, nonce, listenerNonce)],
    ['the ids split elsewhere', linkProof(key, 'listener', `${SOURCE}r`, TARGET.slice(1), nonce, listenerNonce)],
    ['the dialer nonce', linkProof(key, 'listener', SOURCE, TARGET, nonceOf('other-nonce'), listenerNonce)],
    ['the listener nonce', linkProof(key, 'listener', SOURCE, TARGET, nonce, Buffer.alloc(16, 8))],
    ['the key', linkProof(OTHER_SUBKEYS.linkProof, 'listener', SOURCE, TARGET, nonce, listenerNonce)],
    ['the subkey (another purpose of the same bus key)', linkProof(SUBKEYS.linkFrame, 'listener', SOURCE, TARGET, nonce, listenerNonce)],
  ])('differs when %s differs', (_name, other) => {
    expect(other.equals(proof)).toBe(false);
  });

  it('refuses ids outside the strict charset and nonces of another size', () => {
    expect(() => linkProof(key, 'listener', 'relay-a\nrelay-b', TARGET, nonce, listenerNonce)).toThrow(RangeError);
    expect(() => linkProof(key, 'listener', SOURCE, TARGET, Buffer.alloc(15), listenerNonce)).toThrow(RangeError);
  });
});

describe('isLinkableRelayId', () => {
  it.each(['relay-a', 'viewport-relay-0', '127.0.0.1:7781:abcdef123456', '[::1]:7781:abcdef', 'a'.repeat(128)])('accepts %s', (id) => {
    expect(isLinkableRelayId(id)).toBe(true);
  });

  it.each(['', 'relay a', 'relay\nb', 'relay/ü', 'relay\r', 'a'.repeat(129), 'relay?x=1', 'relay&nonce=x'])('refuses %j', (id) => {
    expect(isLinkableRelayId(id)).toBe(false);
  });
});

describe('peerDialUrl and parseDialRequest', () => {
  it('puts the peer path, version, source and nonce on the advertised base, dropping its own path and query', () => {
    const url = new URL(peerDialUrl('ws://10.0.0.7:9000/ignored?x=1', 'relay-a', nonceOf('n-1')));
    expect(url.host).toBe('10.0.0.7:9000');
    expect(url.pathname).toBe(PEER_LINK_PATH);
    expect([...url.searchParams]).toEqual([
      ['v', '2'],
      ['source', 'relay-a'],
      ['nonce', nonceText('n-1')],
    ]);
    expect(parseDialRequest(`${url.pathname}${url.search}`)).toEqual({ ok: true, source: 'relay-a', nonce: nonceOf('n-1') });
  });

  it.each([
    ['another path', `/ws?v=2&source=relay-a&nonce=${nonceText('n')}`, 'bad_path'],
    ['no version (an earlier relay)', `${PEER_LINK_PATH}?source=relay-a&nonce=${nonceText('n')}`, 'old_version'],
    ['version 1', `${PEER_LINK_PATH}?v=1&source=relay-a&nonce=${nonceText('n')}`, 'old_version'],
    ['a source with a newline', `${PEER_LINK_PATH}?v=2&source=relay-a%0Arelay-b&nonce=${nonceText('n')}`, 'bad_source'],
    ['a source over 128 characters', `${PEER_LINK_PATH}?v=2&source=${'s'.repeat(129)}&nonce=${nonceText('n')}`, 'bad_source'],
    ['a nonce of 15 bytes', `${PEER_LINK_PATH}?v=2&source=relay-a&nonce=${Buffer.alloc(15).toString('base64url')}`, 'bad_nonce'],
    ['a nonce not in canonical base64url', `${PEER_LINK_PATH}?v=2&source=relay-a&nonce=${nonceText('n')}%3D%3D`, 'bad_nonce'],
  ])('refuses a dial with %s', (_name, path, reason) => {
    expect(parseDialRequest(path)).toEqual({ ok: false, reason });
  });
});

describe('peer link handshake', () => {
  it('links a dialer holding the key to the relay it meant', async () => {
    const at = await listen();
    const { nonce } = await openLink(at);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
    expect(at.listener.pending()).toBe(0);
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

  it('closes a dialer whose proof uses another key (1008), reporting the source', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    peer.ws.send(authOf(peer.messages[0]!, `${KEY}-other`, SOURCE, 'n-1'));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.rejections).toEqual([{ reason: 'bad_proof', peer: SOURCE }]);
    expect(at.listener.links()).toBe(0);
  });

  it('closes a dialer whose proof is the raw bus key (no domain separation), 1008', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-raw');
    const hello = peer.messages[0]!;
    const raw = linkProof(Buffer.from(KEY, 'utf8'), 'dialer', SOURCE, TARGET, nonceOf('n-raw'), Buffer.from(hello.subarray(1, 17)));
    peer.ws.send(Buffer.concat([Buffer.from([4]), raw]));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
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
    at.listener.fence(SOURCE, nonceText('n-1'));
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    peer.ws.send(encodeLinkFrame(numbered(1)));
    peer.ws.send(encodeLinkFrame(numbered(2)));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.rejections.map((entry) => entry.reason)).toEqual(['bad_proof']);
    expect(at.delivered).toEqual([]);
    expect(at.listener.links()).toBe(0);
  });

  it('accepts a hand-made handshake with the right proof', async () => {
    const at = await listen();
    const peer = await rawPeer(at.url, SOURCE, 'n-1');
    const hello = peer.messages[0]!;
    // The listener proves it is TARGET and holds the key, answering this nonce.
    expect(hello.subarray(17).equals(linkProof(SUBKEYS.linkProof, 'listener', SOURCE, TARGET, nonceOf('n-1'), Buffer.from(hello.subarray(1, 17))))).toBe(true);
    peer.ws.send(authOf(hello, KEY, SOURCE, 'n-1'));
    await waitFor(() => at.listener.links() === 1, 'the inbound link', WAIT_MS);
  });

  it.each([
    ['another path', `/ws?v=2&source=relay-a&nonce=${nonceText('n-1')}`, 400, 'bad_path'],
    ['no source', `${PEER_LINK_PATH}?v=2&nonce=${nonceText('n-1')}`, 400, 'bad_source'],
    ['no nonce', `${PEER_LINK_PATH}?v=2&source=relay-a`, 400, 'bad_nonce'],
    ['an empty source', `${PEER_LINK_PATH}?v=2&source=&nonce=${nonceText('n-1')}`, 400, 'bad_source'],
    ['a source with a newline (a signing-oracle attempt)', `${PEER_LINK_PATH}?v=2&source=ws_1%0Art_1&nonce=${nonceText('n-1')}`, 400, 'bad_source'],
    ['a nonce that is not 16 bytes', `${PEER_LINK_PATH}?v=2&source=relay-a&nonce=${'n'.repeat(65)}`, 400, 'bad_nonce'],
    ['no version (an earlier relay)', `${PEER_LINK_PATH}?source=relay-a&nonce=n-1`, 426, 'old_version'],
  ])('answers an upgrade with %s with its HTTP status, signing nothing', async (_name, path, code, reason) => {
    const at = await listen();
    const ws = track(new WebSocket(`${at.url}${path}`));
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('upgraded')));
      ws.once('error', reject);
    });
    expect(status).toBe(code);
    expect(at.rejections).toEqual([{ reason, peer: '127.0.0.1' }]);
    expect(at.listener.links()).toBe(0);
  });

  it('answers plain HTTP with 404', async () => {
    const at = await listen();
    const response = await fetch(`http://127.0.0.1:${at.listener.port()}${PEER_LINK_PATH}?v=2&source=relay-a&nonce=${nonceText('n-1')}`);
    expect(response.status).toBe(404);
  });

  describe('against a listener that is not a relay', () => {
    async function fakeListener(hello: (url: URL) => Buffer): Promise<string> {
      const { wss, url } = await plainServer();
      wss.on('connection', (ws, req) => ws.send(hello(new URL(req.url ?? '/', 'http://peer'))));
      return url;
    }

    const dial = (url: string) =>
      dialPeerLink({ url, sourceRelayId: SOURCE, targetRelayId: TARGET, proofKey: SUBKEYS.linkProof, frameKey: SUBKEYS.linkFrame, timeoutMs: WAIT_MS });

    it('rejects a hello that is not one', async () => {
      const url = await fakeListener(() => encodeAck(0));
      await expect(dial(url)).rejects.toThrow(/no valid hello/);
    });

    it('rejects a hello whose proof is a dialer proof turned around', async () => {
      const url = await fakeListener((request) => {
        const listenerNonce = randomBytes(16);
        const turned = linkProof(SUBKEYS.linkProof, 'dialer', SOURCE, TARGET, Buffer.from(request.searchParams.get('nonce') ?? '', 'base64url'), listenerNonce);
        return Buffer.concat([Buffer.from([6]), listenerNonce, turned]);
      });
      await expect(dial(url)).rejects.toThrow(/prove/);
    });

    it('rejects a hello that answers another nonce than this connection’s (a replayed or relayed hello)', async () => {
      const url = await fakeListener(() => {
        const listenerNonce = randomBytes(16);
        const proof = linkProof(SUBKEYS.linkProof, 'listener', SOURCE, TARGET, nonceOf('another connection'), listenerNonce);
        return Buffer.concat([Buffer.from([6]), listenerNonce, proof]);
      });
      await expect(dial(url)).rejects.toThrow(/prove/);
    });

    it('names an earlier relay (link protocol 1) as such', async () => {
      const url = await fakeListener(() => Buffer.concat([Buffer.from([3]), randomBytes(48)]));
      await expect(dial(url)).rejects.toThrow(PeerVersionError);
    });

    it('names a listener that refuses this version (HTTP 426) as such', async () => {
      // A listener only refuses a dial without v=2; stand in for a later relay with a server answering 426.
      const { wss, url } = await plainServer();
      wss.options.verifyClient = (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 426);
      await expect(dial(url)).rejects.toThrow(PeerVersionError);
    });
  });
});
