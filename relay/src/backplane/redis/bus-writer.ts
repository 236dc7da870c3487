// The writing side of the bus streams: a frame for one relay under that
// relay's stream cap, a session event for every live relay, and the peer-link
// markers. Apart from the reader: this runs on the commands connection, per
// published frame.
import type { BusFrame } from '../../bus/types.js';
import type { BackplaneStore } from '../store.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';
import { entryFields } from './stream-entry.js';

export interface RedisBusWriterOptions {
  readonly commands: ScriptedRedis;
  readonly keys: RedisKeys;
  /** streamFor is the stream key of a target relay (cached). */
  readonly streamFor: (relayId: string) => string;
  /** This relay's own stream, which a broadcast skips. */
  readonly ownStream: string;
  readonly queueMax: number;
  readonly streamTtlMs: number;
  /** A relay whose heartbeat is older than this is not sent broadcasts. */
  readonly presenceTtlMs: number;
  readonly now: () => number;
}

export interface RedisBusWriter {
  /** append is BackplaneStore.append. */
  readonly append: BackplaneStore['append'];
  /** appendMarker appends a signed peer-link marker or loss marker to target's stream, whatever its backlog. */
  appendMarker(target: string, marker: BusFrame, kind: 'fence' | 'unlink' | 'loss'): Promise<number>;
}

/** createRedisBusWriter binds the stream writes to the commands connection. */
export function createRedisBusWriter(options: RedisBusWriterOptions): RedisBusWriter {
  const { commands, keys, streamFor, ownStream, queueMax, streamTtlMs } = options;
  return {
    async append(frame) {
      // No target: a session event for every other live relay (docs/protocol.md#weak-session-events).
      const target = frame.targetRelayId;
      if (!target) {
        const refused = await commands.busBroadcast(
          keys.relays,
          String(options.now() - options.presenceTtlMs),
          ownStream,
          String(queueMax),
          String(streamTtlMs),
          ...entryFields(frame),
        );
        return refused === 0 ? 'appended' : 'refused';
      }
      const stream = streamFor(target);
      const toClients = frame.direction === 'daemon_to_clients';
      const outcome = await commands.busPublish(
        stream,
        // Only frames for clients may leave a marker; others pass any key, unused.
        toClients ? keys.lossGuard(target, frame.sourceRelayId, frame) : stream,
        String(queueMax),
        String(streamTtlMs),
        toClients ? '1' : '0',
        String(streamTtlMs),
        ...entryFields(frame),
      );
      return outcome === 1 ? 'appended' : outcome === 2 ? 'refused_marked' : 'refused';
    },
    appendMarker(target, marker, kind) {
      return commands.busMarker(streamFor(target), String(streamTtlMs), ...entryFields(marker, kind));
    },
  };
}
