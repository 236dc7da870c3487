// Wire shapes of the crypto frames and strict parsers for them
// (docs/e2ee-protocol.md#handshake-frames, docs/e2ee-protocol.md#envelope-fields,
// docs/e2ee-protocol.md#key-update, docs/e2ee-protocol.md#kex-v2-frames). Builders emit keys in the reference's order;
// parsers never depend on key order and ignore unknown fields.
import { fail, type Result } from './errors.js';
import { isProfile, type Profile } from './profiles.js';

/** KeyExchangeInitV3 is message 1 of the v3 handshake (client → daemon). */
export interface KeyExchangeInitV3 {
  type: 'relay_key_exchange_init';
  version: 3;
  profile: Profile;
  requestId: string;
  clientEphemeralPublicKey: string;
  encryptedClientStatic: string;
  pairingPeerId?: string;
  previousSessionId?: string;
}

/** KeyExchangeResponseV3 is message 2 of the v3 handshake (daemon → client). */
export interface KeyExchangeResponseV3 {
  type: 'relay_key_exchange_response';
  version: 3;
  profile: Profile;
  requestId: string;
  daemonPublicKey: string;
  daemonEphemeralPublicKey: string;
  encryptedMetadata: string;
  sessionId: string;
  epoch: number;
  proof: string;
}

/** KeyExchangeInitV2 is the legacy key exchange request (client → daemon). */
export interface KeyExchangeInitV2 {
  type: 'relay_key_exchange_init';
  version: 2;
  profile: Profile;
  requestId: string;
  clientPublicKey: string;
  clientNonce: string;
  clientProof: string;
  pairingPeerId?: string;
  previousSessionId?: string;
}

/** KeyExchangeResponseV2 is the legacy key exchange answer (daemon → client). */
export interface KeyExchangeResponseV2 {
  type: 'relay_key_exchange_response';
  version: 2;
  profile: Profile;
  requestId: string;
  daemonPublicKey: string;
  daemonNonce: string;
  sessionId: string;
  epoch: number;
  proof: string;
}

/** EnvelopeFrame is an `e2ee` v2 envelope; ciphertext carries no tag. */
export interface EnvelopeFrame {
  type: 'e2ee';
  version: 2;
  profile: Profile;
  sessionId: string;
  epoch: number;
  seq: number;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** KeyUpdateRequiredFrame asks the client to re-key into epoch + 1. */
export interface KeyUpdateRequiredFrame {
  type: 'relay_key_update_required';
  sessionId: string;
  nextEpoch: number;
  reason?: string;
}

/** E2eeFrame is any frame this toolkit understands. */
export type E2eeFrame =
  | KeyExchangeInitV3
  | KeyExchangeResponseV3
  | KeyExchangeInitV2
  | KeyExchangeResponseV2
  | EnvelopeFrame
  | KeyUpdateRequiredFrame;

type Fields = Record<string, unknown>;

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function isNonBlank(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

/** stringFields copies the named fields, all of which must be strings. */
function stringFields<K extends string>(f: Fields, names: readonly K[], what: string): Result<{ values: Record<K, string> }> {
  const values = {} as Record<K, string>;
  for (const name of names) {
    const value = f[name];
    if (typeof value !== 'string') return fail('bad_frame', `${what} field ${name} must be a string`);
    values[name] = value;
  }
  return { ok: true, values };
}

function optionalString(value: unknown): string | undefined {
  // Receivers treat a non-string value as absent (docs/e2ee-protocol.md#handshake-frames).
  return typeof value === 'string' ? value : undefined;
}

function withOptionals<T extends object>(frame: T, f: Fields): T {
  const pairingPeerId = optionalString(f.pairingPeerId);
  const previousSessionId = optionalString(f.previousSessionId);
  return {
    ...frame,
    ...(pairingPeerId !== undefined ? { pairingPeerId } : {}),
    ...(previousSessionId !== undefined ? { previousSessionId } : {}),
  };
}

function parseInit(f: Fields, profile: Profile): Result<{ frame: E2eeFrame }> {
  if (profile === 'noise-ikpsk2' && !isNonBlank(f.pairingPeerId)) {
    return fail('missing_pairing_peer_id', 'noise-ikpsk2 key exchange needs a non-blank pairingPeerId');
  }
  if (f.version === 3) {
    const s = stringFields(f, ['requestId', 'clientEphemeralPublicKey', 'encryptedClientStatic'] as const, 'v3 init');
    if (!s.ok) return s;
    const frame: KeyExchangeInitV3 = { type: 'relay_key_exchange_init', version: 3, profile, ...s.values };
    return { ok: true, frame: withOptionals(frame, f) };
  }
  if (f.version === 2) {
    const s = stringFields(f, ['requestId', 'clientPublicKey', 'clientNonce', 'clientProof'] as const, 'v2 init');
    if (!s.ok) return s;
    const frame: KeyExchangeInitV2 = { type: 'relay_key_exchange_init', version: 2, profile, ...s.values };
    return { ok: true, frame: withOptionals(frame, f) };
  }
  return fail('bad_frame', 'key exchange init version must be 2 or 3');
}

function parseResponse(f: Fields, profile: Profile): Result<{ frame: E2eeFrame }> {
  if (!isPositiveInteger(f.epoch)) return fail('bad_frame', 'key exchange response epoch must be an integer >= 1');
  const epoch = f.epoch;
  if (f.version === 3) {
    const names = ['requestId', 'daemonPublicKey', 'daemonEphemeralPublicKey', 'encryptedMetadata', 'sessionId', 'proof'] as const;
    const s = stringFields(f, names, 'v3 response');
    if (!s.ok) return s;
    const frame: KeyExchangeResponseV3 = { type: 'relay_key_exchange_response', version: 3, profile, ...s.values, epoch };
    return { ok: true, frame };
  }
  if (f.version === 2) {
    const s = stringFields(f, ['requestId', 'daemonPublicKey', 'daemonNonce', 'sessionId', 'proof'] as const, 'v2 response');
    if (!s.ok) return s;
    const frame: KeyExchangeResponseV2 = { type: 'relay_key_exchange_response', version: 2, profile, ...s.values, epoch };
    return { ok: true, frame };
  }
  return fail('bad_frame', 'key exchange response version must be 2 or 3');
}

function parseEnvelope(f: Fields, profile: Profile): Result<{ frame: E2eeFrame }> {
  if (f.version !== 2) return fail('bad_frame', 'e2ee envelope version must be 2');
  if (!isNonBlank(f.sessionId)) return fail('bad_frame', 'e2ee envelope sessionId must be non-blank');
  if (!isPositiveInteger(f.epoch)) return fail('bad_frame', 'e2ee envelope epoch must be an integer >= 1');
  if (!isPositiveInteger(f.seq)) return fail('bad_seq', 'e2ee envelope seq must be an integer >= 1');
  for (const name of ['iv', 'tag', 'ciphertext'] as const) {
    if (!isNonBlank(f[name])) return fail('bad_frame', `e2ee envelope ${name} must be a non-blank string`);
  }
  const frame: EnvelopeFrame = {
    type: 'e2ee',
    version: 2,
    profile,
    sessionId: f.sessionId,
    epoch: f.epoch,
    seq: f.seq,
    iv: f.iv as string,
    tag: f.tag as string,
    ciphertext: f.ciphertext as string,
  };
  return { ok: true, frame };
}

/** parseE2eeFrame checks a decoded JSON value against the crypto frame shapes. */
export function parseE2eeFrame(value: unknown): Result<{ frame: E2eeFrame }> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_frame', 'frame must be a JSON object');
  }
  const f = value as Fields;
  if (f.type === 'relay_key_update_required') {
    if (typeof f.sessionId !== 'string' || typeof f.nextEpoch !== 'number') {
      return fail('bad_frame', 'key update needs a string sessionId and a numeric nextEpoch');
    }
    const frame: KeyUpdateRequiredFrame = { type: f.type, sessionId: f.sessionId, nextEpoch: f.nextEpoch };
    if (typeof f.reason === 'string') frame.reason = f.reason;
    return { ok: true, frame };
  }
  if (f.type !== 'e2ee' && f.type !== 'relay_key_exchange_init' && f.type !== 'relay_key_exchange_response') {
    return fail('bad_frame', 'not an e2ee or key exchange frame');
  }
  if (!isProfile(f.profile)) return fail('bad_profile', 'profile must be noise-ik or noise-ikpsk2');
  if (f.type === 'e2ee') return parseEnvelope(f, f.profile);
  if (f.type === 'relay_key_exchange_init') return parseInit(f, f.profile);
  return parseResponse(f, f.profile);
}

/** parseE2eeFrameText parses JSON text and then the frame shape. */
export function parseE2eeFrameText(text: string): Result<{ frame: E2eeFrame }> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('bad_frame', 'frame is not valid JSON');
  }
  return parseE2eeFrame(value);
}
