// The peer-link listener over real sockets on 127.0.0.1 port 0: the fence
// that holds a link's frames, unlinks, its limits and shutdown, and a newer
// link from a source replacing the older one.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  authOf,
  KEY,
  linked,
  listen,
  nonceOf,
  nonceText,
  openLink,
  payloads,
  rawPeer,
  roundTrip,
  runCleanups,
  sealedFrame,
  sealerOf,
  SOURCE,
  TARGET,
  track,
  WAIT_MS,
} from '../../../test/backplane/peer-link-harness.js';
import { waitFor } from '../../../test/backplane/wait-for.js';
import { peerDialUrl } from './handshake.js';

afterEach(runCleanups);

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
    at.listener.fence(SOURCE, nonceText('n-early'));
    const peer = await rawPeer(at.url, SOURCE, 'n-early');
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-early'));
    peer.ws.send(sealedFrame(sealerOf(peer.messages[0]!, SOURCE, 'n-early'), 1));
    await waitFor(() => at.delivered.length === 1, 'the frame', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1]);
  });

  it('holds frames when the early fence named another nonce', async () => {
    const at = await listen();
    at.listener.fence(SOURCE, nonceText('n-old'));
    const peer = await rawPeer(at.url, SOURCE, 'n-new');
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-new'));
    peer.ws.send(sealedFrame(sealerOf(peer.messages[0]!, SOURCE, 'n-new'), 1));
    await roundTrip(peer.ws);
    expect(at.listener.links()).toBe(1);
    expect(at.delivered).toEqual([]);
    at.listener.fence(SOURCE, nonceText('n-new'));
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
    at.listener.fence(SOURCE, nonceText('n-dead'));
    at.listener.unlink(SOURCE, nonceText('n-dead'));
    peer.ws.send(authOf(peer.messages[0]!, KEY, SOURCE, 'n-dead'));
    peer.ws.send(sealedFrame(sealerOf(peer.messages[0]!, SOURCE, 'n-dead'), 1));
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

describe('peer listener shutdown and limits', () => {
  it('closes at once with an unfinished handshake and a peer that failed its proof still connected', async () => {
    const at = await listen();
    await rawPeer(at.url, SOURCE, 'n-silent');
    const failed = await rawPeer(at.url, 'relay-x', 'n-bad');
    failed.ws.send(Buffer.concat([Buffer.from([4]), Buffer.alloc(32)]));
    await waitFor(() => at.rejections.some((r) => r.reason === 'bad_proof'), 'the failed proof', WAIT_MS);
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
    expect(at.rejections.filter((r) => r.reason === 'bad_proof')).toHaveLength(1);
  });

  it('refuses a ninth unfinished handshake from one address with 503, while another address still gets in', async () => {
    const at = await listen();
    const strangers = await Promise.all(Array.from({ length: 8 }, (_, i) => rawPeer(at.url, `relay-${i}`, `n-${i}`, { localAddress: '127.0.0.2' })));
    expect(at.listener.pending()).toBe(8);
    const refused = track(new WebSocket(peerDialUrl(at.url, SOURCE, nonceOf('n-9')), { perMessageDeflate: false, localAddress: '127.0.0.2' }));
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.once('open', () => reject(new Error('the ninth handshake was accepted')));
      refused.once('error', () => undefined);
    });
    expect(status).toBe(503);
    expect(at.rejections).toEqual([{ reason: 'busy', peer: '127.0.0.2' }]);
    // A real peer on another address links at once.
    await openLink(at);
    await waitFor(() => at.listener.links() === 1, 'the real link', WAIT_MS);
    for (const peer of strangers) peer.ws.terminate();
    await waitFor(() => at.listener.pending() === 0, 'the slots freed', WAIT_MS);
    await rawPeer(at.url, SOURCE, 'n-later', { localAddress: '127.0.0.2' });
  });

  it('cuts a handshake that idles past its 2 s deadline, freeing its slot', async () => {
    const at = await listen();
    const started = Date.now();
    const idle = await rawPeer(at.url, SOURCE, 'n-idle');
    expect(at.listener.pending()).toBe(1);
    await waitFor(() => idle.closed.closed !== undefined, 'the idle handshake cut', WAIT_MS);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(at.listener.pending()).toBe(0);
    expect(at.listener.links()).toBe(0);
  });

  it('does not count established links against the handshake slots', async () => {
    const at = await listen();
    for (let i = 0; i < 10; i++) await openLink(at, { source: `relay-${i}` });
    await waitFor(() => at.listener.links() === 10, 'ten links', WAIT_MS);
    expect(at.listener.pending()).toBe(0);
    await rawPeer(at.url, SOURCE, 'n-more');
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

describe('peer link message tags', () => {
  async function rawLink(label: string) {
    const at = await listen({ ackEvery: 1 });
    const peer = await rawPeer(at.url, SOURCE, label);
    const hello = peer.messages[0]!;
    peer.ws.send(authOf(hello, KEY, SOURCE, label));
    at.listener.fence(SOURCE, nonceText(label));
    return { at, peer, mac: sealerOf(hello, SOURCE, label) };
  }

  it('delivers sealed frames in order', async () => {
    const { at, peer, mac } = await rawLink('n-tags');
    for (let n = 1; n <= 3; n++) peer.ws.send(sealedFrame(mac, n));
    await waitFor(() => at.delivered.length === 3, 'the frames', WAIT_MS);
    expect(payloads(at.delivered)).toEqual([1, 2, 3]);
  });

  type Mac = ReturnType<typeof sealerOf>;
  const flipped = (data: Buffer, at: number) => {
    data[at] = data[at]! ^ 1;
    return data;
  };
  it.each<[string, (mac: Mac) => Buffer[], number[]]>([
    ['a forged tag', (mac) => [sealedFrame(mac, 1), (() => {
      const data = sealedFrame(mac, 2);
      return flipped(data, data.length - 1);
    })()], [1]],
    ['a rewritten payload under a genuine tag', (mac) => [sealedFrame(mac, 1), (() => {
      const data = sealedFrame(mac, 2);
      return flipped(data, data.length - 17);
    })()], [1]],
    ['a replayed message', (mac) => {
      const first = sealedFrame(mac, 1);
      return [first, Buffer.from(first)];
    }, [1]],
    ['two messages swapped', (mac) => {
      const first = sealedFrame(mac, 1);
      return [sealedFrame(mac, 2), first];
    }, []],
  ])('closes the link on %s (1008), delivering only what came before it, reporting bad_tag', async (_name, messages, expected) => {
    const { at, peer, mac } = await rawLink('n-bad');
    for (const data of messages(mac)) peer.ws.send(data);
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed).toEqual({ code: 1008, reason: 'bad message tag' });
    expect(at.rejections).toEqual([{ reason: 'bad_tag', peer: SOURCE }]);
    expect(payloads(at.delivered)).toEqual(expected);
    expect(at.listener.links()).toBe(0);
  });

  it('closes a link whose frame carries no tag at all', async () => {
    const { at, peer } = await rawLink('n-bare');
    peer.ws.send(Buffer.from([1, 0]));
    await waitFor(() => peer.closed.closed !== undefined, 'the close', WAIT_MS);
    expect(peer.closed.closed?.code).toBe(1008);
    expect(at.delivered).toEqual([]);
  });
});
