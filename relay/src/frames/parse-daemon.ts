// Daemon → relay frame validation (docs/protocol.md#frames-daemon). Invalid daemon frames are
// dropped silently by the caller; the Rejection is for metrics and debug logs.
import { checkE2ee } from './e2ee.js';
import { scanE2ee } from './e2ee-scan.js';
import { checkKexHead } from './kex.js';
import {
  type JsonObject,
  Rejection,
  anyString,
  booleanField,
  everyField,
  fieldError,
  finiteNumber,
  integerAtLeast,
  isFieldError,
  nonEmptyString,
  parseObject,
  rejected,
  sessionChannel,
  typeField,
} from './fields.js';
import { type DaemonFrame, type ParseResult, FrameType, SESSION_CHANNEL_PREFIX } from './frame.js';

const KEX_V3_FIELDS = ['daemonPublicKey', 'daemonEphemeralPublicKey', 'encryptedMetadata', 'proof'] as const;
const KEX_V2_FIELDS = ['daemonNonce', 'proof'] as const;
const OFFER_OK_FIELDS = ['daemonChannelPublicKey', 'encIv', 'encTag', 'encCiphertext'] as const;

type Outcome = DaemonFrame | Rejection;

/**
 * parseDaemonFrame validates one daemon frame's text; it never throws.
 * Session-event relay frames are recognised by `schema`, before `type`.
 */
export function parseDaemonFrame(text: string): ParseResult<DaemonFrame> {
  const obj = parseObject(text);
  if (isFieldError(obj)) return rejected(obj);
  const out = obj.schema === FrameType.sessionEventRelay ? checkSessionEventRelay(obj) : dispatch(obj);
  return isFieldError(out) ? rejected(out) : { ok: true, frame: out };
}

/** parseDaemonFrameBytes is parseDaemonFrame on the frame's bytes; common e2ee envelopes skip decoding and JSON.parse. */
export function parseDaemonFrameBytes(buf: Buffer): ParseResult<DaemonFrame> {
  const fast = scanE2ee(buf);
  return fast !== undefined ? { ok: true, frame: fast } : parseDaemonFrame(buf.toString('utf8'));
}

function dispatch(obj: JsonObject): Outcome {
  const type = typeField(obj);
  if (isFieldError(type)) return type;
  switch (type) {
    case FrameType.e2ee:
      return checkE2ee(obj);
    case FrameType.kexResponse:
      return checkKexResponse(obj);
    case FrameType.keyUpdate:
      return checkKeyUpdate(obj);
    case FrameType.pairingOfferResponse:
      return checkPairingResponse(obj, FrameType.pairingOfferResponse);
    case FrameType.pairingRedeemResponse:
      return checkPairingResponse(obj, FrameType.pairingRedeemResponse);
    default:
      return new Rejection('unknown_type', 'type is not a daemon frame type');
  }
}

function checkKexResponse(obj: JsonObject): Outcome {
  const label = FrameType.kexResponse;
  const head = checkKexHead(obj, label, KEX_V3_FIELDS, KEX_V2_FIELDS);
  if (isFieldError(head)) return head;
  const sessionId = anyString(obj, 'sessionId', label);
  if (isFieldError(sessionId)) return sessionId;
  // v3 pins the epoch to an integer >= 1; v2 only asks for a number.
  const epoch = head.version === 3 ? integerAtLeast(obj, 'epoch', label, 1) : finiteNumber(obj, 'epoch', label);
  if (isFieldError(epoch)) return epoch;
  return { kind: 'kex_response', profile: head.profile, requestId: head.requestId, sessionId, version: head.version };
}

function checkKeyUpdate(obj: JsonObject): Outcome {
  const label = FrameType.keyUpdate;
  const sessionId = anyString(obj, 'sessionId', label);
  if (isFieldError(sessionId)) return sessionId;
  const nextEpoch = finiteNumber(obj, 'nextEpoch', label);
  if (isFieldError(nextEpoch)) return nextEpoch;
  return { kind: 'key_update', sessionId };
}

function checkPairingResponse(
  obj: JsonObject,
  label: typeof FrameType.pairingOfferResponse | typeof FrameType.pairingRedeemResponse,
): Outcome {
  const kind = label === FrameType.pairingOfferResponse ? 'pairing_offer_response' : 'pairing_redeem_response';
  const requestId = nonEmptyString(obj, 'requestId', label);
  if (isFieldError(requestId)) return requestId;
  const ok = booleanField(obj, 'ok', label);
  if (isFieldError(ok)) return ok;
  if (!ok) {
    const code = nonEmptyString(obj, 'errorCode', label);
    if (isFieldError(code)) return code;
  } else if (kind === 'pairing_offer_response') {
    const missing = everyField(obj, OFFER_OK_FIELDS, label, nonEmptyString);
    if (missing) return missing;
  } else if (!isPlainObject(obj.redeemed)) {
    return fieldError(obj.redeemed, label, 'redeemed', 'an object when ok is true');
  }
  return { kind, requestId, ok };
}

function checkSessionEventRelay(obj: JsonObject): Outcome {
  const label = FrameType.sessionEventRelay;
  const channel = sessionChannel(obj, label, SESSION_CHANNEL_PREFIX);
  if (isFieldError(channel)) return channel;
  // [quirk] the reference lets `event: null` through; kept for compatibility.
  const event = obj.event;
  if (event !== null && !isPlainObject(event)) return fieldError(event, label, 'event', 'an object or null');
  return { kind: 'session_event_relay', channel };
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
