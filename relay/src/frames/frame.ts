// Frame shapes the relay understands (docs/protocol.md#frames). The relay forwards frame text
// byte for byte; these parsed views carry only what routing needs.

import type { Profile } from '../e2ee/profiles.js';

/** Profile is the E2EE handshake profile named in frames and the e2eeProfile claim (e2ee/profiles.ts). */
export type { Profile };

/** ClientFrameKind names each frame a client may send (docs/protocol.md#frames-client). */
export type ClientFrameKind =
  | 'e2ee'
  | 'kex_init'
  | 'pairing_offer_request'
  | 'pairing_redeem_request'
  | 'session_subscribe'
  | 'session_unsubscribe'
  | 'viewer_presence';

/** DaemonFrameKind names each frame a daemon may send (docs/protocol.md#frames-daemon). */
export type DaemonFrameKind =
  | 'e2ee'
  | 'kex_response'
  | 'key_update'
  | 'pairing_offer_response'
  | 'pairing_redeem_response'
  | 'session_event_relay';

/** PresenceAction is the viewer presence transition carried by viewer_presence frames. */
export type PresenceAction = 'joined' | 'heartbeat' | 'left';

/**
 * ClientFrame is the routing view of a valid client frame. Identifiers
 * (requestId, sessionId, channel, userId) are trimmed, so tables keyed on them
 * match the daemon side, which is trimmed the same way.
 */
export interface ClientFrame {
  kind: ClientFrameKind;
  /** Set for e2ee and kex_init. */
  profile?: Profile;
  /** Set for e2ee. */
  sessionId?: string;
  /** Set for kex_init (may be empty) and pairing requests (non-empty). */
  requestId?: string;
  /** Set for session-event frames; starts with "agent-session:". */
  channel?: string;
  /** The frame's version field for e2ee (2) and kex_init (2 or 3). */
  version?: number;
  /** Set for viewer_presence. */
  action?: PresenceAction;
  /** Set for viewer_presence; 1-128 characters. */
  userId?: string;
  /** Set for session_subscribe when the client sent it. */
  afterSequence?: number;
}

/** DaemonFrame is the routing view of a valid daemon frame; identifiers are trimmed as in ClientFrame. */
export interface DaemonFrame {
  kind: DaemonFrameKind;
  /** Set for e2ee and kex_response. */
  profile?: Profile;
  /** Set for e2ee, kex_response and key_update (kex_response/key_update may be empty). */
  sessionId?: string;
  /** Set for kex_response (may be empty) and pairing responses (non-empty). */
  requestId?: string;
  /** Set for session_event_relay. */
  channel?: string;
  /** The frame's version field for e2ee and kex_response. */
  version?: number;
  /** Set for pairing responses. */
  ok?: boolean;
}

/** WorkerMethod is an HTTP method a worker may tunnel. */
export type WorkerMethod = 'GET' | 'POST' | 'PATCH';

/** WorkerRequest is a valid worker transport request (docs/protocol.md#frames-worker); requestId is kept verbatim so the reply echoes it exactly. */
export interface WorkerRequest {
  requestId: string;
  method: WorkerMethod;
  path: string;
  headers?: Record<string, unknown>;
  body?: string;
}

/** FrameRejectReason is the stable cause of a rejected frame; used as a metric label value. `too_deep`, `too_wide`: refused before JSON.parse (nesting.ts). */
export type FrameRejectReason = 'not_json' | 'too_deep' | 'too_wide' | 'not_object' | 'unknown_type' | 'missing_field' | 'invalid_field';

/** FrameError explains a rejection. detail names the field and rule and never echoes field values. */
export interface FrameError {
  reason: FrameRejectReason;
  detail: string;
}

/** ParseResult is the outcome of parsing one frame. */
export type ParseResult<T> = { ok: true; frame: T } | { ok: false; error: FrameError };

/** FrameType holds the wire `type` (and session-event `schema`) strings of every frame. */
export const FrameType = {
  e2ee: 'e2ee',
  kexInit: 'relay_key_exchange_init',
  kexResponse: 'relay_key_exchange_response',
  keyUpdate: 'relay_key_update_required',
  pairingOfferRequest: 'relay_pairing_offer_request',
  pairingRedeemRequest: 'relay_pairing_redeem_request',
  pairingOfferResponse: 'relay_pairing_offer_response',
  pairingRedeemResponse: 'relay_pairing_redeem_response',
  sessionSubscribe: 'viewport.session_events.subscribe/v1',
  sessionUnsubscribe: 'viewport.session_events.unsubscribe/v1',
  viewerPresence: 'viewport.session_viewer_presence/v1',
  sessionEventRelay: 'viewport.session_event_relay_frame/v1',
  workerRequest: 'viewport.worker_transport.request/v1',
  workerResponse: 'viewport.worker_transport.response/v1',
  relayStatus: 'relay_status',
  sessionSubscribed: 'viewport.session_events.subscribed/v1',
  sessionSubscribeDenied: 'viewport.session_events.subscribe_denied/v1',
  sessionUnsubscribed: 'viewport.session_events.unsubscribed/v1',
  viewerPresenceDenied: 'viewport.session_viewer_presence_denied/v1',
} as const;

/** SESSION_CHANNEL_PREFIX starts every session-event channel name. */
export const SESSION_CHANNEL_PREFIX = 'agent-session:';

/** isSessionEventKind is true for the client frames only a session-events scope may send. */
export function isSessionEventKind(kind: ClientFrameKind): boolean {
  return kind === 'session_subscribe' || kind === 'session_unsubscribe' || kind === 'viewer_presence';
}

/** isPairingKind is true for the client frames only a pairing scope may send. */
export function isPairingKind(kind: ClientFrameKind): boolean {
  return kind === 'pairing_offer_request' || kind === 'pairing_redeem_request';
}
