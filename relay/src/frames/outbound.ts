// Relay → peer frames, built as ready-to-send text (docs/protocol.md#frames-relay,
// docs/protocol.md#relay-status, docs/protocol.md#worker-transport).
// Field names and messages are wire contract; clients must not parse
// `message`, but tests and daemons compare it, so keep it exact.
import { FrameType } from './frame.js';

/** RelayStatusCode is every relay_status code the relay sends. */
export type RelayStatusCode =
  | 'DAEMON_UNAVAILABLE'
  | 'RUNTIME_TARGET_REQUIRED'
  | 'RELAY_REDIRECT'
  | 'INVALID_FRAME'
  | 'SESSION_EVENTS_SCOPE_ONLY'
  | 'RELAY_SHUTTING_DOWN';

/** RelayStatusExtras lists the extra fields each code carries; undefined fields are left out. */
export interface RelayStatusExtras {
  DAEMON_UNAVAILABLE: { runtimeTargetId?: string | undefined; machineId?: string | undefined };
  RUNTIME_TARGET_REQUIRED: Record<string, never>;
  /** runtimeTargetId only in the per-message variant (docs/protocol.md#no-local-daemon), not at upgrade (docs/protocol.md#redirect). */
  RELAY_REDIRECT: { relayWsBaseUrl: string; runtimeTargetId?: string | undefined };
  INVALID_FRAME: Record<string, never>;
  SESSION_EVENTS_SCOPE_ONLY: Record<string, never>;
  /** reconnectAfterMs hints how long a peer should wait before reconnecting elsewhere. */
  RELAY_SHUTTING_DOWN: { reconnectAfterMs?: number | undefined };
}

/** RELAY_STATUS_MESSAGES holds the human-readable message of each code. */
export const RELAY_STATUS_MESSAGES: Readonly<Record<RelayStatusCode, string>> = {
  DAEMON_UNAVAILABLE: 'No machine runtime is connected for this runtime target',
  RUNTIME_TARGET_REQUIRED: 'Runtime client must specify a runtime target',
  RELAY_REDIRECT: 'Workspace is assigned to a different relay instance',
  INVALID_FRAME: 'client frame must be a valid runtime or pairing control frame',
  SESSION_EVENTS_SCOPE_ONLY: 'session-events scoped clients can only subscribe to authorized session event channels',
  RELAY_SHUTTING_DOWN: 'Relay is shutting down; reconnect to continue',
};

// `retryable` is present only for these codes; the others omit it (docs/protocol.md#relay-status).
const RETRYABLE: Partial<Record<RelayStatusCode, boolean>> = {
  DAEMON_UNAVAILABLE: true,
  RUNTIME_TARGET_REQUIRED: false,
  RELAY_SHUTTING_DOWN: true,
};

type ExtrasArgs<C extends RelayStatusCode> = Record<never, never> extends RelayStatusExtras[C]
  ? [extras?: RelayStatusExtras[C]]
  : [extras: RelayStatusExtras[C]];

/**
 * relayStatus builds `{type:"relay_status", code, message, workspaceId, ...extras, retryable?}`.
 * RELAY_REDIRECT requires relayWsBaseUrl; other codes take optional extras.
 */
export function relayStatus<C extends RelayStatusCode>(code: C, workspaceId: string, ...args: ExtrasArgs<C>): string {
  const retryable = RETRYABLE[code];
  return JSON.stringify({
    type: FrameType.relayStatus,
    code,
    message: RELAY_STATUS_MESSAGES[code],
    workspaceId,
    ...args[0],
    ...(retryable === undefined ? undefined : { retryable }),
  });
}

/** sessionSubscribed confirms a subscription; afterSequence is the requested value, else 0. */
export function sessionSubscribed(channel: string, afterSequence: number | undefined): string {
  return JSON.stringify({
    type: FrameType.sessionSubscribed,
    channel,
    afterSequence: afterSequence ?? 0,
    authoritativeSource: 'session_events',
    websocketRequiredForBackfill: false,
  });
}

/** CHANNEL_NOT_AUTHORIZED is the reason of every session-event denial. */
export const CHANNEL_NOT_AUTHORIZED = 'CHANNEL_NOT_AUTHORIZED';

/** sessionSubscribeDenied refuses a subscribe or unsubscribe for a channel outside the token's sessionChannels. */
export function sessionSubscribeDenied(channel: string, workspaceId: string): string {
  return JSON.stringify({ type: FrameType.sessionSubscribeDenied, channel, reason: CHANNEL_NOT_AUTHORIZED, workspaceId });
}

/** sessionUnsubscribed confirms an unsubscribe. */
export function sessionUnsubscribed(channel: string): string {
  return JSON.stringify({ type: FrameType.sessionUnsubscribed, channel });
}

/** viewerPresenceDenied refuses a presence frame for a channel outside the token's sessionChannels. */
export function viewerPresenceDenied(channel: string, workspaceId: string): string {
  return JSON.stringify({ type: FrameType.viewerPresenceDenied, channel, reason: CHANNEL_NOT_AUTHORIZED, workspaceId });
}

/** workerResponse builds the reply to a worker transport request (docs/protocol.md#worker-transport). */
export function workerResponse(
  requestId: string,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): string {
  return JSON.stringify({ type: FrameType.workerResponse, requestId, status, headers, body });
}

/** WorkerFailureReason is the reason code in a relay-made worker error reply. */
export type WorkerFailureReason = 'WORKER_TRANSPORT_PATH_DENIED' | 'WORKER_TRANSPORT_FORWARD_FAILED' | 'WORKER_TRANSPORT_BUSY';

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });

/** workerPathDenied is the 403 reply for a path outside the worker's managed-executor prefix. */
export function workerPathDenied(requestId: string): string {
  return workerResponse(requestId, 403, JSON_HEADERS, JSON.stringify({ ok: false, reason: 'WORKER_TRANSPORT_PATH_DENIED' }));
}

/**
 * workerBusy is the 503 reply to a request the tunnel's bounds refused before it reached the
 * platform (docs/protocol.md#worker-transport); detail names the bound. Retry later.
 */
export function workerBusy(requestId: string, detail: string): string {
  return workerResponse(requestId, 503, JSON_HEADERS, JSON.stringify({ ok: false, reason: 'WORKER_TRANSPORT_BUSY', detail }));
}

/**
 * workerForwardFailed is the 502 reply when the platform could not be reached
 * or answered unusably; detail is a stable code such as "timeout", never error text.
 */
export function workerForwardFailed(requestId: string, detail: string): string {
  return workerResponse(
    requestId,
    502,
    JSON_HEADERS,
    JSON.stringify({ ok: false, reason: 'WORKER_TRANSPORT_FORWARD_FAILED', detail }),
  );
}
