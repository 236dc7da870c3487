// WriteBatch: frames sent to one peer in one turn leave in a single writev,
// in order, and the socket is uncorked once the turn ends.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Peer } from './peer.js';
import { WriteBatch } from './write-batch.js';

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

describe('WriteBatch', () => {
  it('coalesces one turn of writes into one writev, in order, then uncorks', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    for (const frame of ['a', 'b', 'c']) {
      batch.hold(peer);
      socket.write(frame);
    }
    expect(writes).toEqual([]);
    expect(socket.writableCorked).toBe(1); // held once, however many frames
    await nextTurn();
    expect(writes).toEqual([['a', 'b', 'c']]);
    expect(socket.writableCorked).toBe(0);
    expect(peer.corked).toBe(false);
  });

  it('holds again in the next turn', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
    batch.hold(peer);
    socket.write('1');
    await nextTurn();
    batch.hold(peer);
    socket.write('2');
    expect(peer.corked).toBe(true);
    await nextTurn();
    expect(writes).toEqual([['1'], ['2']]);
  });

  it('release hands a held batch over at once (before an overflow check could count it), and the turn-end flush skips it', async () => {
    const { socket, writes } = recordingSocket();
    const peer = peerWith(socket);
    const batch = new WriteBatch();
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

  it('leaves a peer without a known socket alone', () => {
    const peer = peerWith(undefined);
    new WriteBatch().hold(peer);
    expect(peer.corked).toBe(false);
  });
});
