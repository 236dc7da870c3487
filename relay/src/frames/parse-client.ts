// Client → relay frame validation (docs/protocol.md#frames-client). One JSON.parse, then
// hand-written checks dispatched on `type`; extra fields are allowed because
// the frame is forwarded verbatim.
import { checkE2ee } from './e2ee.js';
import { scanE2ee } from './e2ee-scan.js';
import { checkKexHead } from './kex.js';
import {
  type JsonObject,
  Rejection,
  everyField,
  fieldError,
  integerAtLeast,
  isFieldError,
  nonEmptyString,
  optionalString,
  parseObject,
  rejected,
  sessionChannel,
  typeField,
} from './fields.js';
import {
  type ClientFrame,
  type ParseResult,
  type PresenceAction,
  FrameType,
  SESSION_CHANNEL_PREFIX,
} from './frame.js';

/** PAIRING_TTL_RANGE bounds the optional ttlSeconds of a pairing offer request, in seconds. */
export const PAIRING_TTL_RANGE = { min: 30, max: 3600 } as const;
/** PRESENCE_USER_ID_MAX and PRESENCE_DISPLAY_NAME_MAX bound viewer presence strings. */
export const PRESENCE_USER_ID_MAX = 128;
export const PRESENCE_DISPLAY_NAME_MAX = 255;

const KEX_V3_FIELDS = ['clientEphemeralPublicKey', 'encryptedClientStatic'] as const;
const KEX_V2_FIELDS = ['clientPublicKey', 'clientNonce', 'clientProof'] as const;
const REDEEM_FIELDS = ['offerId', 'encIv', 'encTag', 'encCiphertext'] as const;

type Outcome = ClientFrame | Rejection;

/** parseClientFrame validates one client frame's text; it never throws. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  const obj = parseObject(text);
  if (isFieldError(obj)) return rejected(obj);
  const type = typeField(obj);
  if (isFieldError(type)) return rejected(type);
  const out = dispatch(obj, type);
  return isFieldError(out) ? rejected(out) : { ok: true, frame: out };
}

/** parseClientFrameBytes is parseClientFrame on the frame's bytes; common e2ee envelopes skip decoding and JSON.parse. */
export function parseClientFrameBytes(buf: Buffer): ParseResult<ClientFrame> {
  const fast = scanE2ee(buf);
  return fast !== undefined ? { ok: true, frame: fast } : parseClientFrame(buf.toString('utf8'));
}

function dispatch(obj: JsonObject, type: string): Outcome {
  switch (type) {
    case FrameType.e2ee:
      return checkE2ee(obj);
    case FrameType.kexInit:
      return checkKexInit(obj);
    case FrameType.pairingOfferRequest:
      return checkPairingOffer(obj);
    case FrameType.pairingRedeemRequest:
      return checkPairingRedeem(obj);
    case FrameType.sessionSubscribe:
      return checkSubscribe(obj);
    case FrameType.sessionUnsubscribe:
      return checkUnsubscribe(obj);
    case FrameType.viewerPresence:
      return checkPresence(obj);
    default:
      return new Rejection('unknown_type', 'type is not a client frame type');
  }
}

function checkKexInit(obj: JsonObject): Outcome {
  const label = FrameType.kexInit;
  // requestId may be empty here; routing answers such an init INVALID_FRAME (docs/protocol.md#weak-control-frames).
  const head = checkKexHead(obj, label, KEX_V3_FIELDS, KEX_V2_FIELDS);
  if (isFieldError(head)) return head;
  if (head.profile === 'noise-ikpsk2') {
    const peer = nonEmptyString(obj, 'pairingPeerId', label);
    if (isFieldError(peer)) return peer;
  }
  return { kind: 'kex_init', profile: head.profile, requestId: head.requestId, version: head.version };
}

function checkPairingOffer(obj: JsonObject): Outcome {
  const label = FrameType.pairingOfferRequest;
  const requestId = nonEmptyString(obj, 'requestId', label);
  if (isFieldError(requestId)) return requestId;
  const key = nonEmptyString(obj, 'clientChannelPublicKey', label);
  if (isFieldError(key)) return key;
  const ttl = obj.ttlSeconds;
  if (ttl !== undefined && !(Number.isInteger(ttl) && (ttl as number) >= PAIRING_TTL_RANGE.min && (ttl as number) <= PAIRING_TTL_RANGE.max)) {
    return fieldError(ttl, label, 'ttlSeconds', `an integer from ${PAIRING_TTL_RANGE.min} to ${PAIRING_TTL_RANGE.max}`);
  }
  return { kind: 'pairing_offer_request', requestId };
}

function checkPairingRedeem(obj: JsonObject): Outcome {
  const label = FrameType.pairingRedeemRequest;
  const requestId = nonEmptyString(obj, 'requestId', label);
  if (isFieldError(requestId)) return requestId;
  return everyField(obj, REDEEM_FIELDS, label, nonEmptyString) ?? { kind: 'pairing_redeem_request', requestId };
}

function checkSubscribe(obj: JsonObject): Outcome {
  const label = FrameType.sessionSubscribe;
  const channel = sessionChannel(obj, label, SESSION_CHANNEL_PREFIX);
  if (isFieldError(channel)) return channel;
  if (obj.afterSequence === undefined) return { kind: 'session_subscribe', channel };
  const afterSequence = integerAtLeast(obj, 'afterSequence', label, 0);
  if (isFieldError(afterSequence)) return afterSequence;
  return { kind: 'session_subscribe', channel, afterSequence };
}

function checkUnsubscribe(obj: JsonObject): Outcome {
  const channel = sessionChannel(obj, FrameType.sessionUnsubscribe, SESSION_CHANNEL_PREFIX);
  if (isFieldError(channel)) return channel;
  return { kind: 'session_unsubscribe', channel };
}

function isPresenceAction(v: unknown): v is PresenceAction {
  return v === 'joined' || v === 'heartbeat' || v === 'left';
}

function checkPresence(obj: JsonObject): Outcome {
  const label = FrameType.viewerPresence;
  const channel = sessionChannel(obj, label, SESSION_CHANNEL_PREFIX);
  if (isFieldError(channel)) return channel;
  const action = obj.action;
  if (!isPresenceAction(action)) return fieldError(action, label, 'action', '"joined", "heartbeat" or "left"');
  const userId = nonEmptyString(obj, 'userId', label);
  if (isFieldError(userId)) return userId;
  if (userId.length > PRESENCE_USER_ID_MAX) {
    return fieldError(userId, label, 'userId', `at most ${PRESENCE_USER_ID_MAX} characters`);
  }
  const displayName = optionalString(obj, 'displayName', label, PRESENCE_DISPLAY_NAME_MAX);
  if (displayName) return displayName;
  const sentAt = optionalString(obj, 'sentAt', label);
  if (sentAt) return sentAt;
  return { kind: 'viewer_presence', channel, action, userId };
}
