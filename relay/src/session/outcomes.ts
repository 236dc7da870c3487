// What the session paths decide, as data, and the one table that says what
// each decision costs: which reference counter moves, which drop reason is
// counted, which plain relay_status goes back, which log line is written and
// which close code ends the peer. The paths (client, daemon, worker, bus,
// heartbeat, registration) return or report an Outcome; only Outbox.report
// reads this table. Outcomes and entries are constants, so reporting one
// allocates nothing but a log line's fields. Per-frame delivery counts
// (frames, bytes, recipients) are not outcomes: the client and daemon paths
// move them through counter handles resolved once.
import type { CompatCounter } from '../admin/metrics.js';
import type { LogLevel } from '../admin/log.js';
import { CloseCode, CloseReason, type FrameRejectReason, type RelayCloseReason } from '../frames/index.js';
import type { WorkerPathDenyReason } from '../worker/path.js';
import { TUNNEL_REFUSALS, type TunnelRefusal } from '../worker/tunnel-budget.js';

/** RouteFamily is the kind of a routed daemon response; each has its own three counters. */
export type RouteFamily = 'kex' | 'pairing' | 'session';

/** ClientRejectReason is why a client frame was invalid: the parser's reason, or `scope` for a parsed frame the checks refused. */
type ClientRejectReason = FrameRejectReason | 'scope';

/** Outcome names one decision of a session path. `done` means nothing is left to account. */
export type Outcome =
  | 'done'
  | 'internal_error'
  | 'frame_too_large'
  | 'socket_frame_too_large'
  | 'slow_peer'
  | 'inbound_throttled'
  | 'invalid_frames'
  | 'token_expired'
  | 'peer_not_open'
  | 'idle_timeout'
  | 'pong_timeout'
  | 'workspace_evicted'
  | 'client_redirected'
  | `client_invalid:${ClientRejectReason}`
  | 'session_events_scope_only'
  | 'session_events_scope_required'
  | 'runtime_scope_only'
  | 'pairing_scope_only'
  | 'client_profile_mismatch'
  | 'kex_rate_limited'
  | 'pairing_rate_limited'
  | 'runtime_rate_limited'
  | 'session_not_owned'
  | 'request_id_taken'
  | 'runtime_target_required'
  | 'daemon_unavailable'
  | 'client_routed_bus'
  | 'subscribed'
  | 'unsubscribed'
  | 'subscribe_denied'
  | 'viewer_presence_denied'
  | 'presence_rate_limited'
  | 'viewer_presence_no_peers'
  | 'daemon_rate_limited'
  | `daemon_invalid:${FrameRejectReason}`
  | 'daemon_profile_mismatch'
  | `${RouteFamily}_undelivered`
  | `${RouteFamily}_no_owner`
  | `${RouteFamily}_publish_failed`
  | 'session_event_no_subscribers'
  | 'session_event_published'
  | 'session_event_publish_failed'
  | 'worker_rate_limited'
  | `worker_invalid:${FrameRejectReason}`
  | `worker_${Lowercase<WorkerPathDenyReason>}`
  | 'worker_forwarded'
  | `worker_busy:${TunnelRefusal}`
  | 'worker_forward_failed'
  | 'bus_rejected'
  | 'bus_to_daemon'
  | 'bus_no_daemon'
  | 'bus_daemon_rate_limited'
  | 'bus_request_id_taken'
  | `refused:${RelayCloseReason}`;

/** Effect is what reporting one outcome does, in this order: counter, drop, upgrade rejection, log, status, close. */
export interface Effect {
  readonly counter?: CompatCounter;
  /** The relay_frames_dropped_total reason. */
  readonly drop?: string;
  /** The relay_upgrade_rejections_total reason (refusals after the 101). */
  readonly upgradeRejection?: string;
  /**
   * A log line with the peer's role and workspaceId (and the close reason when `withReason`, or
   * `reason`). An entry that closes the peer and names no line gets CLOSE_LOG, so no close the
   * relay initiates goes unlogged. Lines are rate-limited per event (outbox.ts).
   */
  readonly log?: { readonly level: LogLevel; readonly event: string; readonly withReason?: boolean; readonly reason?: string };
  /** A relay_status without extras sent back to the peer. */
  readonly status?: 'INVALID_FRAME' | 'SESSION_EVENTS_SCOPE_ONLY' | 'RUNTIME_TARGET_REQUIRED';
  readonly close?: { readonly code: number; readonly reason: RelayCloseReason };
  /** The frame was invalid: it spends the peer's invalid-frame allowance (docs/protocol.md#inbound-budget). */
  readonly invalid?: true;
}

// Every parser reason (the Record makes the compiler insist), so every invalid frame has its row.
const FRAME_REJECT_REASONS = Object.keys({
  not_json: 0,
  too_deep: 0,
  too_wide: 0,
  not_object: 0,
  unknown_type: 0,
  missing_field: 0,
  invalid_field: 0,
} satisfies Record<FrameRejectReason, 0>) as FrameRejectReason[];
const FAMILY_DROPPED: Record<RouteFamily, CompatCounter> = {
  kex: 'key_exchange_response_dropped_total',
  pairing: 'pairing_response_dropped_total',
  session: 'session_frame_dropped_total',
};

/** closing is a 4008 close whose drop reason is the close reason with underscores, counted under counter. */
function closing(reason: RelayCloseReason, counter: CompatCounter): Effect {
  return { counter, drop: reason.replace(/ /g, '_'), close: { code: CloseCode.policy, reason } };
}

/** prefixed builds one entry per reason under `${prefix}${reason}`. */
function prefixed<P extends string, R extends string>(prefix: P, reasons: readonly R[], effect: (reason: R) => Effect): Record<`${P}${R}`, Effect> {
  return Object.fromEntries(reasons.map((r) => [`${prefix}${r}`, effect(r)])) as Record<`${P}${R}`, Effect>;
}

const FAMILIES: readonly RouteFamily[] = ['kex', 'pairing', 'session'];

/** familyOutcomes builds each route family's three drop outcomes; all count the family's dropped counter. */
function familyOutcomes(): Record<`${RouteFamily}_${'undelivered' | 'no_owner' | 'publish_failed'}`, Effect> {
  const out = {} as Record<`${RouteFamily}_${'undelivered' | 'no_owner' | 'publish_failed'}`, Effect>;
  for (const f of FAMILIES) {
    const counter = FAMILY_DROPPED[f];
    out[`${f}_undelivered`] = { counter };
    out[`${f}_no_owner`] = { counter, drop: `${f}_no_owner` };
    out[`${f}_publish_failed`] = { counter, drop: 'bus_publish_failed' };
  }
  return out;
}

/** CLOSE_LOG is the line of a close whose entry names none: the reason and code, at warn. */
export const CLOSE_LOG = { level: 'warn', event: 'peer_closed', withReason: true } as const satisfies Effect['log'];

/** OUTCOMES is the table: every outcome and its effect. */
export const OUTCOMES: Readonly<Record<Outcome, Effect>> = {
  done: {},
  // ---- any peer ----
  // A routing bug: it costs one frame, never the process (the hub logs which handler failed).
  internal_error: { drop: 'internal_error' },
  frame_too_large: {
    counter: 'ws_frame_too_large_total',
    drop: 'frame_too_large',
    close: { code: CloseCode.frameTooLarge, reason: CloseReason.frameTooLarge },
  },
  // ws refused an oversized frame itself (and closes the socket 1009).
  socket_frame_too_large: { counter: 'ws_frame_too_large_total', drop: 'frame_too_large' },
  slow_peer: {
    counter: 'ws_slow_client_terminated_total',
    drop: 'buffer_overflow',
    log: { level: 'warn', event: 'slow_peer_closed', withReason: true },
    close: { code: CloseCode.policy, reason: CloseReason.bufferOverflow },
  },
  // The peer spent its inbound budget: its socket is paused until the debt is repaid (hub.ts).
  inbound_throttled: { counter: 'ws_inbound_throttled_total', log: { level: 'info', event: 'peer_throttled' } },
  invalid_frames: {
    counter: 'ws_invalid_frames_closed_total',
    drop: 'too_many_invalid_frames',
    close: { code: CloseCode.policy, reason: CloseReason.invalidFrames },
  },
  // docs/protocol.md#token-lifetime: the connection ends with its token; the peer reconnects with a fresh one.
  token_expired: {
    counter: 'ws_token_expired_closed_total',
    log: { level: 'info', event: 'peer_closed', withReason: true },
    close: { code: CloseCode.tokenExpired, reason: CloseReason.tokenExpired },
  },
  peer_not_open: { drop: 'peer_not_open' },
  // Terminated without a close frame (hub.ts); the log line names why.
  idle_timeout: { counter: 'ws_idle_terminated_total', log: { level: 'info', event: 'peer_closed', reason: 'idle timeout' } },
  pong_timeout: { counter: 'ws_stale_terminated_total', log: { level: 'info', event: 'peer_closed', reason: 'pong timeout' } },
  workspace_evicted: { counter: 'workspace_evictions_total' },
  client_redirected: { counter: 'client_redirect_total' },
  // ---- client frames ----
  ...prefixed('client_invalid:', [...FRAME_REJECT_REASONS, 'scope'], (r) => ({
    counter: 'frames_client_rejected_total',
    drop: `invalid_frame:${r}`,
    status: 'INVALID_FRAME',
    invalid: true,
  })),
  session_events_scope_only: { counter: 'frames_client_rejected_scope_total', drop: 'session_events_scope_only', status: 'SESSION_EVENTS_SCOPE_ONLY' },
  session_events_scope_required: closing(CloseReason.sessionEventsScopeRequired, 'frames_client_rejected_scope_total'),
  runtime_scope_only: closing(CloseReason.runtimeScopeOnly, 'frames_client_rejected_scope_total'),
  pairing_scope_only: closing(CloseReason.pairingScopeOnly, 'frames_client_rejected_scope_total'),
  client_profile_mismatch: closing(CloseReason.clientProfileMismatch, 'frames_client_rejected_profile_mismatch_total'),
  kex_rate_limited: closing(CloseReason.keyExchangeRateLimit, 'frames_client_kex_rate_limited_total'),
  pairing_rate_limited: closing(CloseReason.pairingRateLimit, 'frames_client_pairing_rate_limited_total'),
  runtime_rate_limited: closing(CloseReason.runtimeRateLimit, 'frames_client_runtime_rate_limited_total'),
  session_not_owned: { counter: 'client_messages_dropped_total', drop: 'session_not_owned' },
  // Another client's live key-exchange or pairing requestId: refused, so its response cannot be
  // taken. Logged at warn: the request's own limiter was charged first, which bounds the lines.
  request_id_taken: {
    counter: 'frames_client_rejected_total',
    drop: 'request_id_taken',
    status: 'INVALID_FRAME',
    log: { level: 'warn', event: 'request_id_taken' },
  },
  runtime_target_required: { counter: 'client_messages_dropped_total', drop: 'runtime_target_required', status: 'RUNTIME_TARGET_REQUIRED' },
  // The DAEMON_UNAVAILABLE status carries extras, so the client path sends it itself.
  daemon_unavailable: { counter: 'client_messages_dropped_total', drop: 'daemon_unavailable' },
  client_routed_bus: { counter: 'client_messages_routed_bus_total' },
  subscribed: { counter: 'session_event_subscribed_total' },
  unsubscribed: { counter: 'session_event_unsubscribed_total' },
  subscribe_denied: { counter: 'session_event_subscribe_rejected_total' },
  viewer_presence_denied: { counter: 'session_viewer_presence_rejected_total' },
  presence_rate_limited: closing(CloseReason.presenceRateLimit, 'session_viewer_presence_rate_limited_total'),
  viewer_presence_no_peers: { counter: 'session_viewer_presence_no_peers_total' },
  // ---- daemon frames (and daemon→clients frames from the bus) ----
  daemon_rate_limited: closing(CloseReason.daemonRateLimit, 'frames_daemon_rate_limited_total'),
  ...prefixed('daemon_invalid:', FRAME_REJECT_REASONS, (r) => ({ counter: 'frames_daemon_rejected_total', drop: `invalid_daemon_frame:${r}`, invalid: true })),
  daemon_profile_mismatch: closing(CloseReason.daemonProfileMismatch, 'frames_daemon_rejected_profile_mismatch_total'),
  ...familyOutcomes(),
  session_event_no_subscribers: { counter: 'session_event_frame_dropped_total', drop: 'session_event_no_subscribers' },
  session_event_published: { counter: 'session_event_frame_published_total' },
  session_event_publish_failed: { counter: 'session_event_frame_publish_failed_total', drop: 'bus_publish_failed' },
  // ---- worker frames ----
  worker_rate_limited: closing(CloseReason.workerRateLimit, 'frames_daemon_rate_limited_total'),
  ...prefixed('worker_invalid:', FRAME_REJECT_REASONS, (r) => ({ counter: 'frames_daemon_rejected_total', drop: `invalid_worker_frame:${r}`, invalid: true })),
  worker_path_invalid: { counter: 'worker_transport_rejected_total', drop: 'worker_path_invalid' },
  worker_path_denied: { counter: 'worker_transport_rejected_total', drop: 'worker_path_denied' },
  worker_forwarded: { counter: 'worker_transport_forwarded_total' },
  // Refused before the platform, answered 503 WORKER_TRANSPORT_BUSY (worker-path.ts); logged, rate-limited.
  ...prefixed('worker_busy:', TUNNEL_REFUSALS, (r) => ({
    counter: 'worker_transport_busy_total',
    drop: `worker_busy:${r}`,
    log: { level: 'warn', event: 'worker_transport_busy', reason: r },
  })),
  worker_forward_failed: { counter: 'worker_transport_forward_failed_total' },
  // ---- frames from other relays ----
  bus_rejected: { counter: 'bus_frames_rejected_total' },
  bus_to_daemon: { counter: 'bus_frames_to_daemon_total' },
  bus_no_daemon: { counter: 'bus_frames_dropped_total', drop: 'bus_no_daemon' },
  bus_daemon_rate_limited: { counter: 'bus_frames_daemon_rate_limited_total', drop: 'bus_daemon_rate_limited' },
  bus_request_id_taken: { counter: 'bus_frames_rejected_total', drop: 'request_id_taken' },
  // ---- registration: a peer refused after its 101 ----
  ...prefixed('refused:', Object.values(CloseReason), (reason) => ({
    counter: 'ws_connections_rejected_total',
    upgradeRejection: `post_upgrade:${reason}`,
    log: { level: 'info', event: 'connection_rejected', withReason: true },
    close: { code: CloseCode.policy, reason },
  })),
};

/** FAMILY_OUTCOMES are a route family's three drop outcomes, looked up without building a name. */
export const FAMILY_OUTCOMES: Readonly<Record<RouteFamily, { readonly undelivered: Outcome; readonly noOwner: Outcome; readonly publishFailed: Outcome }>> = {
  kex: { undelivered: 'kex_undelivered', noOwner: 'kex_no_owner', publishFailed: 'kex_publish_failed' },
  pairing: { undelivered: 'pairing_undelivered', noOwner: 'pairing_no_owner', publishFailed: 'pairing_publish_failed' },
  session: { undelivered: 'session_undelivered', noOwner: 'session_no_owner', publishFailed: 'session_publish_failed' },
};

/**
 * closeOutcome maps a close decided by routing (a client frame's scope or profile,
 * a daemon frame's profile) to its outcome. Routing decides only these reasons;
 * anything else is a bug and throws, which costs the frame, never the process.
 */
export function closeOutcome(reason: RelayCloseReason): Outcome {
  switch (reason) {
    case CloseReason.sessionEventsScopeRequired:
      return 'session_events_scope_required';
    case CloseReason.runtimeScopeOnly:
      return 'runtime_scope_only';
    case CloseReason.pairingScopeOnly:
      return 'pairing_scope_only';
    case CloseReason.clientProfileMismatch:
      return 'client_profile_mismatch';
    case CloseReason.daemonProfileMismatch:
      return 'daemon_profile_mismatch';
    default:
      throw new Error(`no outcome for close reason ${reason}`);
  }
}
