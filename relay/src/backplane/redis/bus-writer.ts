// The writing side of the bus streams: a frame for one relay under that
// relay's stream cap, a session event for every live relay, and the peer-link
// markers. Apart from the reader: this runs on the commands connection, per
// published frame.
import type { BusFrame } from '../../bus/types.js';
import type { LossMarkerSigner } from '../loss-marker.js';
import type { BackplaneStore } from '../store.js';
import type { RedisKeys } from './keys.js';
import type { DeliveryWatch } from './delivery-watch.js';
import type { ScriptedRedis } from './scripts.js';
import { entryFields, entrySize } from './stream-entry.js';

export interface RedisBusWriterOptions {
  readonly commands: ScriptedRedis;
  readonly keys: RedisKeys;
  /** streamFor is the stream key of a target relay (cached). */
  readonly streamFor: (relayId: string) => string;
  /** This relay's own stream, which a broadcast skips. */
  readonly ownStream: string;
  readonly queueMax: number;
  /** Most approximate bytes unread in one stream (entrySize); past it publishes are refused. */
  readonly queueMaxBytes: number;
  readonly streamTtlMs: number;
  /** A relay whose heartbeat is older than this is not sent broadcasts. */
  readonly presenceTtlMs: number;
  readonly now: () => number;
  /** stampLossMarker signs what a frame for clients needs to stand as a loss marker. */
  readonly stampLossMarker: LossMarkerSigner;
  /** A target whose heartbeat is older than this is gone: frames for it are refused. */
  readonly livenessLapseMs: number;
  /** When set, an appended client frame settles only once its target read it or is gone (docs/backplane.md#liveness). */
  readonly watch?: DeliveryWatch | undefined;
  /** onRefused counts a refusal by the cap that caused it. */
  readonly onRefused: (cap: 'frames' | 'bytes') => void;
}

export interface RedisBusWriter {
  /** append is BackplaneStore.append. */
  readonly append: BackplaneStore['append'];
  /** appendMarker appends a signed peer-link marker or loss marker to target's stream, whatever its backlog. */
  appendMarker(target: string, marker: BusFrame, kind: 'fence' | 'unlink' | 'loss'): Promise<number>;
}

function markerFields(frame: BusFrame, target: string) {
  const { workspaceId, runtimeTargetId, sourceRelayId } = frame;
  return { workspaceId, runtimeTargetId, sourceRelayId, targetRelayId: target, issuedAtMs: frame.issuedAtMs ?? 0 };
}

/** createRedisBusWriter binds the stream writes to the commands connection. */
export function createRedisBusWriter(options: RedisBusWriterOptions): RedisBusWriter {
  const { commands, keys, streamFor, ownStream, queueMax, streamTtlMs } = options;
  const livenessLapse = String(options.livenessLapseMs);
  const maxBytes = String(options.queueMaxBytes);
  return {
    async append(frame) {
      // No target: a session event for every other live relay (docs/protocol.md#weak-session-events).
      const target = frame.targetRelayId;
      if (!target) {
        const fields = entryFields(frame);
        const refused = await commands.busBroadcast(
          keys.relays,
          String(options.now() - options.presenceTtlMs),
          ownStream,
          String(queueMax),
          String(streamTtlMs),
          maxBytes,
          String(entrySize(fields)),
          ...fields,
        );
        return refused === 0 ? 'appended' : 'refused';
      }
      const stream = streamFor(target);
      const toClients = frame.direction === 'daemon_to_clients';
      const stamp = toClients ? options.stampLossMarker(markerFields(frame, target)) : undefined;
      const fields = entryFields(frame, 'frame', stamp);
      const outcome = await commands.busPublish(
        stream,
        // Only frames for clients may leave a marker; others pass any key, unused.
        toClients ? keys.lossGuard(target, frame.sourceRelayId, frame) : stream,
        keys.relays,
        String(queueMax),
        String(streamTtlMs),
        toClients ? '1' : '0',
        String(streamTtlMs),
        livenessLapse,
        maxBytes,
        String(entrySize(fields)),
        ...fields,
      );
      if (typeof outcome === 'string') return toClients || options.watch === undefined ? 'appended' : options.watch.track(target, outcome);
      if (outcome === 3) return 'gone';
      options.onRefused(outcome >= 4 ? 'bytes' : 'frames');
      return outcome === 2 || outcome === 5 ? 'refused_marked' : 'refused';
    },
    appendMarker(target, marker, kind) {
      const stamp = kind === 'loss' ? options.stampLossMarker(markerFields(marker, target)) : undefined;
      return commands.busMarker(streamFor(target), String(streamTtlMs), ...entryFields(marker, kind, stamp));
    },
  };
}
