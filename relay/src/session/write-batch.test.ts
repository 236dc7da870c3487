// WriteBatch: in a quiet turn each frame is written at once; in a busy turn the
// frames sent to one peer leave in a single writev, in order, and the socket is
// uncorked once the turn ends.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Peer } from './peer.js';
import { QUIET_TURN_SENDS, WriteBatch } from './write-batch.js';

function recordingSocket(): { socket: Writable; writes: string[][] } {
  const writes: string[][] = [];
  const socket = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { socket, writes };
}

/** nextTurn resolves after the current turn's setImmediate callbacks, i.e. after the batch's flush. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const peerWith = (socket: Writable | undefined): Peer => ({ socket, corked: false }) as unknown as Peer;

/** send does what the hub's send path does: hold, then write. */
function send(batch: WriteBatch, peer: Peer, frame: string): void {
  batch.hold(peer);
  peer.socket!.write(frame);
}

/** busyTurn sends more than a quiet turn's worth of frames to a peer of its own, so the next turn counts as busy. */
async function busyTurn(batch: WriteBatch): Promise<void> {
  const other = peerWith(recordingSocket().socket);
  for (let i = 0; i <= QUIET_TURN_SENDS; i++) send(batch, other, `o${i}`);
  await nextTurn();
}

const frames = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('WriteBatch', () => {
  it('writes the frames of a quiet turn at once, one write each, without corking', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    for (const frame of ['a', 'b', 'c']) send(batch, peer, frame);
    expect(writes).toEqual([['a'], ['b'], ['c']]);
    expect(socket.writableCorked).toBe(0);
    expect(peer.corked).toBe(false);
  });

  it('corks from the first frame past the quiet limit, and flushes the rest of the turn in one writev', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    const sent = frames(QUIET_TURN_SENDS + 3);
    for (const frame of sent) send(batch, peer, frame);
    expect(writes).toEqual(sent.slice(0, QUIET_TURN_SENDS).map((f) => [f]));
    expect(socket.writableCorked).toBe(1);
    await nextTurn();
    expect(writes.at(-1)).toEqual(sent.slice(QUIET_TURN_SENDS));
    expect(writes.flat()).toEqual(sent);
    expect(socket.writableCorked).toBe(0);
    expect(peer.corked).toBe(false);
  });

  it('after a busy turn, coalesces the next turn from its first frame, in order, then uncorks', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    await busyTurn(batch);
    for (const frame of ['a', 'b', 'c']) send(batch, peer, frame);
    expect(writes).toEqual([]);
    expect(socket.writableCorked).toBe(1); // held once, however many frames
    await nextTurn();
    expect(writes).toEqual([['a', 'b', 'c']]);
    expect(socket.writableCorked).toBe(0);
    expect(peer.corked).toBe(false);
  });

  it('counts frames to an already corked peer, so a turn of many frames to one peer stays busy', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    await busyTurn(batch);
    const turn = frames(QUIET_TURN_SENDS * 4);
    for (const frame of turn) send(batch, peer, frame);
    await nextTurn();
    for (const frame of turn) send(batch, peer, `again-${frame}`);
    expect(writes).toEqual([turn]); // the second turn is still held: the first one was busy
    await nextTurn();
    expect(writes).toEqual([turn, turn.map((f) => `again-${f}`)]);
  });

  it('goes back to writing at once after a quiet turn', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    await busyTurn(batch);
    send(batch, peer, '1'); // busy: held
    expect(writes).toEqual([]);
    await nextTurn(); // that turn sent one frame: quiet
    expect(writes).toEqual([['1']]);
    send(batch, peer, '2');
    expect(writes).toEqual([['1'], ['2']]);
    expect(peer.corked).toBe(false);
  });

  it('release hands a held batch over at once (before an overflow check could count it), and the turn-end flush skips it', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    await busyTurn(batch);
    batch.hold(peer);
    socket.write('x');
    socket.write('y');
    batch.release(peer);
    expect(writes).toEqual([['x', 'y']]);
    expect(socket.writableLength).toBe(0);
    expect(socket.writableCorked).toBe(0);
    await nextTurn();
    expect(socket.writableCorked).toBe(0); // not uncorked twice
  });

  it('leaves a peer without a known socket alone', async () => {
    const batch = new WriteBatch();
    await busyTurn(batch);
    const peer = peerWith(undefined);
    batch.hold(peer);
    expect(peer.corked).toBe(false);
  });
});
