// The words the relay core and the backplane share: scopes, presence records,
// bus frames and loss notices. Apart from backplane/, and importing nothing, so
// routing/ and session/ depend on these types without depending on a transport.

/** ScopeRef names a scope: a workspace and, usually, one runtime target of it. */
export interface ScopeRef {
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
}

/** PresenceRecord says which relay holds a scope's daemon, and which daemon generation it admitted. */
export interface PresenceRecord extends ScopeRef {
  readonly relayId: string;
  readonly relayWsBaseUrl: string;
  readonly daemonConnected: boolean;
  readonly machineId?: string | undefined;
  /** The highest daemonIssueGeneration admitted for the scope; kept across relay restarts (docs/protocol.md#weak-generation-memory). */
  readonly daemonIssueGeneration?: number | undefined;
  readonly updatedAtMs: number;
}

export type BusDirection = 'client_to_daemon' | 'daemon_to_clients';

/** BusFrame is the wire form of a frame forwarded between relays (docs/protocol.md#bus-frame). */
export interface BusFrame {
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly machineId?: string | undefined;
  readonly sourceRelayId: string;
  readonly targetRelayId: string | null;
  readonly direction: BusDirection;
  /** The original frame text, forwarded byte for byte. */
  readonly payload: string;
  /**
   * The payload's UTF-8 bytes, when the relay already holds them (a socket's
   * frame, a peer link's message): a peer link carries them and the receiving
   * hub forwards them without encoding the text again. Never part of the wire
   * form of the streams or the platform bus (signBusFrame drops it).
   */
  readonly payloadBytes?: Buffer | undefined;
  readonly issuedAtMs?: number | undefined;
  readonly signature?: string | undefined;
}

/** BusFrameHandler receives frames addressed to this relay, already verified and de-duplicated. */
export type BusFrameHandler = (frame: BusFrame) => void;

/** BusLoss says frames from sourceRelayId to this relay's clients of the scope were refused by a full queue. */
export interface BusLoss {
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly sourceRelayId: string;
}

/** BusLossHandler must close this relay's clients of the scope (retryable), so the loss is not silent. */
export type BusLossHandler = (loss: BusLoss) => void;
