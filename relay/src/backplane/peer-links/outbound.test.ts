// The sending end of a link over real sockets on 127.0.0.1 port 0: batched
// acks settle frames once, in send order, and a dropped link hands back
// exactly the frames it never had acknowledged.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  linked,
  nonceOf,
  numbered,
  payloads,
  plainServer,
  rawMessage,
  roundTrip,
  runCleanups,
  SOURCE,
  SUBKEYS,
  TARGET,
  track,
  WAIT_MS,
} from '../../../test/backplane/peer-link-harness.js';
import { waitFor } from '../../../test/backplane/wait-for.js';
import type { BusFrame } from '../../bus/types.js';
import { encodeAck, encodeLinkFrame } from './codec.js';
import { LinkMac, linkSessionKeys } from './link-mac.js';
import { OutboundLink, type OutboundFault, type PendingFrame } from './outbound.js';

afterEach(runCleanups);

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

  // A link over a bare ws server that answers as the test says, with session keys both ends know.
  async function bareLink() {
    const { wss, url } = await plainServer();
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
    const ws = track(new WebSocket(url));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    const keys = linkSessionKeys(SUBKEYS.linkFrame, SOURCE, TARGET, nonceOf('dialer'), nonceOf('listener'));
    const faults: OutboundFault[] = [];
    const link = new OutboundLink<BusFrame>(TARGET, 'n-1', ws, keys, { pingIntervalMs: 60_000, onFault: (fault) => faults.push(fault) });
    const lost: PendingFrame<BusFrame>[][] = [];
    link.onLost((unacked) => lost.push(unacked));
    const settled: boolean[] = [];
    const send = (n: number) => link.send(numbered(n), encodeLinkFrame(numbered(n)), (delivered) => settled.push(delivered));
    const sealedAck = (mac: LinkMac, count: number) => {
      const ack = encodeAck(count);
      mac.seal(ack);
      return ack;
    };
    return { server: await accepted, link, lost, settled, faults, send, sealedAck, listenerMac: () => new LinkMac(keys.listenerToDialer) };
  }

  it('drops a link whose peer acks more than was sent', async () => {
    const bare = await bareLink();
    bare.send(1);
    bare.server.send(bare.sealedAck(bare.listenerMac(), 2));
    await waitFor(() => bare.lost.length === 1, 'the loss', WAIT_MS);
    expect(bare.settled).toEqual([]);
    expect(payloads(bare.lost[0]!.map((entry) => entry.frame))).toEqual([1]);
  });

  it.each<[string, (mac: LinkMac, sealedAck: (mac: LinkMac, count: number) => Buffer) => Buffer[]]>([
    ['an ack without a valid tag', () => [encodeAck(1)]],
    ['an ack whose count was raised under its tag', (mac, sealedAck) => {
      const ack = sealedAck(mac, 1);
      ack.writeDoubleBE(2, 1);
      return [ack];
    }],
    ['a replayed ack', (mac, sealedAck) => {
      const ack = sealedAck(mac, 1);
      return [ack, Buffer.from(ack)];
    }],
    ['an ack sealed with the other direction’s key (reflected)', () => {
      const reflected = new LinkMac(linkSessionKeys(SUBKEYS.linkFrame, SOURCE, TARGET, nonceOf('dialer'), nonceOf('listener')).dialerToListener);
      const ack = encodeAck(1);
      reflected.seal(ack);
      return [ack];
    }],
  ])('gives the link up on %s, reporting bad_tag, and hands back what was not acked', async (_name, acks) => {
    const bare = await bareLink();
    bare.send(1);
    bare.send(2);
    for (const ack of acks(bare.listenerMac(), bare.sealedAck)) bare.server.send(ack);
    await waitFor(() => bare.lost.length === 1, 'the loss', WAIT_MS);
    expect(bare.faults).toEqual(['bad_tag']);
    // A replayed ack follows a genuine one, which settled frame 1.
    expect(payloads(bare.lost[0]!.map((entry) => entry.frame))).toEqual(bare.settled.length === 1 ? [2] : [1, 2]);
    expect(bare.link.isOpen()).toBe(false);
  });

  it('counts the bytes it holds for its peer until they are acked', async () => {
    const bare = await bareLink();
    expect(bare.link.queuedBytes()).toBe(0);
    bare.send(1);
    bare.send(2);
    const size = encodeLinkFrame(numbered(1)).length;
    expect(bare.link.queuedBytes()).toBeGreaterThanOrEqual(2 * size);
    const mac = bare.listenerMac();
    bare.server.send(bare.sealedAck(mac, 1));
    await waitFor(() => bare.settled.length === 1, 'the first ack', WAIT_MS);
    await waitFor(() => bare.link.queuedBytes() === size, 'one frame held', WAIT_MS);
    bare.server.send(bare.sealedAck(mac, 2));
    await waitFor(() => bare.link.queuedBytes() === 0, 'nothing held', WAIT_MS);
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
