import type { BusFrame, PresenceRecord, ScopeRef } from './backplane.js';
import type { BusReceiver } from './bus-receiver.js';

/**
 * BackplaneStore is the transport-specific half of a multi-relay adapter
 * (Redis, platform HTTP). Methods reject on I/O failure; the shared shell in
 * remote.ts turns that into counted false/null results for the relay core.
 */
export interface BackplaneStore {
  /** start connects and begins feeding this relay's bus entries to receive. */
  start(receive: BusReceiver): Promise<void>;
  /**
   * writePresence stores a connected-daemon record (TTL per store) and raises
   * the kept generation. It resolves 'stale' without writing when the record's
   * generation is below the kept one: a relay still holding a superseded daemon
   * must not take the entry back from the newer daemon's relay.
   */
  writePresence(record: PresenceRecord): Promise<'written' | 'stale'>;
  /** deletePresence removes the entry only while it names relayId (docs/protocol.md#weak-presence-delete); the generation is kept. */
  deletePresence(scope: ScopeRef, relayId: string, daemonIssueGeneration: number | undefined): Promise<void>;
  /**
   * readPresence returns the stored record with the kept generation; a
   * disconnected record (see disconnectedPresence) when only a generation is
   * kept; or null.
   */
  readPresence(scope: ScopeRef): Promise<PresenceRecord | null>;
  /** readGeneration returns the highest generation kept for the scope, even with no daemon connected. */
  readGeneration(scope: ScopeRef): Promise<number | null>;
  /**
   * append hands an already signed frame to the bus for targetRelayId. It
   * resolves 'refused' when the target's queue is full (nothing unread is ever
   * dropped to make room), 'refused_marked' when it also left the target a
   * loss marker so the frame's clients there are closed; it rejects on I/O failure.
   */
  append(frame: BusFrame): Promise<AppendOutcome>;
  /**
   * sendLinked hands an unsigned frame to an open peer link to its target
   * relay (redis mode), or returns undefined when there is none and the frame
   * must be signed and appended (always, for stores without links). Called in
   * publish order with append.
   */
  sendLinked(frame: BusFrame): Promise<AppendOutcome> | undefined;
  isHealthy(): boolean;
  /** wasHealthy is true once the store has been reachable since start. */
  wasHealthy(): boolean;
  /** onRecover registers a listener called each time the store is reachable again after a loss. */
  onRecover(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * AppendOutcome is what a store did with a frame handed to append; 'lost' means
 * it went over a peer link that dropped before the frame was acknowledged,
 * 'gone' that the target relay's heartbeat lapsed before it read the frame
 * (or before the append, which was then refused).
 */
export type AppendOutcome = 'appended' | 'refused' | 'refused_marked' | 'lost' | 'gone';

/** disconnectedPresence is the answer for a scope with no daemon but a kept generation. */
export function disconnectedPresence(scope: ScopeRef, daemonIssueGeneration: number): PresenceRecord {
  return {
    workspaceId: scope.workspaceId,
    runtimeTargetId: scope.runtimeTargetId,
    relayId: '',
    relayWsBaseUrl: '',
    daemonConnected: false,
    daemonIssueGeneration,
    updatedAtMs: 0,
  };
}
