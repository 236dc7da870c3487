// The legacy v2 key exchange (noise-v2 profiles, docs/e2ee-protocol.md#kex-v2): one
// static-static ECDH plus RFC 5869 HKDF with nonces. The proofs hash the
// base64url *text* of keys and nonces exactly as sent; salts use raw bytes.
import { fromBase64Url, toBase64Url } from './base64url.js';
import { concatBytes, constantTimeEqual, utf8 } from './bytes.js';
import { fail, type Result } from './errors.js';
import type { KeyExchangeInitV2, KeyExchangeResponseV2 } from './frames.js';
import { hkdf32, hmacSha256 } from './kdf.js';
import { decodePublicKey, dh, type KeyPair } from './keys.js';
import { usesPsk, type Profile } from './profiles.js';
import type { RandomSource } from './random.js';
import { PAIRING_SECRET_LENGTH, type SessionKeys } from './session-key.js';

const PROOF_LENGTH = 16;
const CLIENT_NONCE_LENGTH = 16;
const DAEMON_NONCE_LENGTH = 16;
const MIN_CLIENT_NONCE = 12;
const MAX_CLIENT_NONCE = 32;

/** V2ClientOptions configures the client side of a v2 key exchange. */
export interface V2ClientOptions {
  readonly profile: Profile;
  readonly requestId: string;
  readonly clientKey: KeyPair;
  /** daemonPublicKeyText is the daemon's identity string exactly as the daemon stores it. */
  readonly daemonPublicKeyText: string;
  readonly pairingSecret?: Uint8Array;
  readonly pairingPeerId?: string;
  readonly previousSessionId?: string;
  /** random supplies the 16-byte client nonce. */
  readonly random: RandomSource;
}

/** PendingKeyExchangeV2 is what the client keeps until the response arrives. */
export interface PendingKeyExchangeV2 {
  readonly init: KeyExchangeInitV2;
  readonly daemonPublicKeyText: string;
  readonly ikm: Uint8Array;
  readonly clientNonce: Uint8Array;
}

/** V2DaemonOptions configures the daemon side once it has decided to answer. */
export interface V2DaemonOptions {
  readonly daemonStatic: KeyPair;
  /** daemonPublicKeyText defaults to the unpadded base64url of the static public key. */
  readonly daemonPublicKeyText?: string;
  readonly sessionId: string;
  readonly epoch: number;
  readonly pairingSecret?: Uint8Array;
  /** random supplies the 16-byte daemon nonce. */
  readonly random: RandomSource;
}

function inputKeyMaterial(z: Uint8Array, profile: Profile, secret: Uint8Array | undefined): Result<{ ikm: Uint8Array }> {
  if (!usesPsk(profile)) return { ok: true, ikm: z };
  if (!secret || secret.length !== PAIRING_SECRET_LENGTH) {
    return fail('bad_pairing_secret', `noise-ikpsk2 needs a ${PAIRING_SECRET_LENGTH}-byte pairing secret`);
  }
  return { ok: true, ikm: concatBytes(z, secret) };
}

/** clientProofV2 is the 16-byte proof of docs/e2ee-protocol.md#kex-v2-client-proof over the init's wire strings. */
export function clientProofV2(ikm: Uint8Array, clientNonce: Uint8Array, init: Omit<KeyExchangeInitV2, 'clientProof'>, daemonPublicKeyText: string): Uint8Array {
  const info = [
    'viewport-relay-kex-init-v1',
    init.requestId,
    init.profile,
    init.clientPublicKey,
    daemonPublicKeyText,
    init.clientNonce,
    init.previousSessionId ?? '',
  ].join('|');
  const initKey = hkdf32(ikm, clientNonce, utf8(info));
  return hmacSha256(initKey, utf8('client-proof')).subarray(0, PROOF_LENGTH);
}

interface TranscriptFields {
  requestId: string;
  profile: Profile;
  clientPublicKey: string;
  daemonPublicKeyText: string;
  clientNonce: string;
  daemonNonce: string;
  sessionId: string;
  epoch: number;
}

/** sessionAndProofV2 derives the v2 session key and the daemon's 16-byte proof (docs/e2ee-protocol.md#kex-v2-session-key). */
export function sessionAndProofV2(
  ikm: Uint8Array,
  clientNonce: Uint8Array,
  daemonNonce: Uint8Array,
  t: TranscriptFields,
): { key: Uint8Array; proof: Uint8Array } {
  const info = utf8(`viewport-relay-session-v2|${t.profile}|${t.sessionId}|${String(t.epoch)}`);
  const key = hkdf32(ikm, concatBytes(clientNonce, daemonNonce), info);
  const transcript = [
    'viewport-relay-transcript-v2',
    t.requestId,
    t.profile,
    t.clientPublicKey,
    t.daemonPublicKeyText,
    t.clientNonce,
    t.daemonNonce,
    t.sessionId,
    String(t.epoch),
  ].join('|');
  return { key, proof: hmacSha256(key, utf8(transcript)).subarray(0, PROOF_LENGTH) };
}

/** startKeyExchangeV2 builds the v2 init frame as the client. */
export function startKeyExchangeV2(
  options: V2ClientOptions,
): Result<{ frame: KeyExchangeInitV2; pending: PendingKeyExchangeV2 }> {
  const { profile, requestId, clientKey, daemonPublicKeyText } = options;
  const daemonKey = decodePublicKey(daemonPublicKeyText);
  if (!daemonKey.ok) return daemonKey;
  if (usesPsk(profile) && !options.pairingPeerId?.trim()) {
    return fail('missing_pairing_peer_id', 'noise-ikpsk2 needs a non-blank pairingPeerId');
  }
  const material = inputKeyMaterial(dh(clientKey.privateKey, daemonKey.publicKey), profile, options.pairingSecret);
  if (!material.ok) return material;
  const clientNonce = options.random(CLIENT_NONCE_LENGTH);
  const unsigned: Omit<KeyExchangeInitV2, 'clientProof'> = {
    type: 'relay_key_exchange_init',
    version: 2,
    profile,
    requestId,
    clientPublicKey: toBase64Url(clientKey.publicKey),
    clientNonce: toBase64Url(clientNonce),
    ...(options.pairingPeerId !== undefined ? { pairingPeerId: options.pairingPeerId } : {}),
    ...(options.previousSessionId !== undefined ? { previousSessionId: options.previousSessionId } : {}),
  };
  const proof = clientProofV2(material.ikm, clientNonce, unsigned, daemonPublicKeyText);
  const frame: KeyExchangeInitV2 = { ...unsigned, clientProof: toBase64Url(proof) };
  return { ok: true, frame, pending: { init: frame, daemonPublicKeyText, ikm: material.ikm, clientNonce } };
}

/** respondKeyExchangeV2 verifies a v2 init as the daemon and builds the response. */
export function respondKeyExchangeV2(
  init: KeyExchangeInitV2,
  options: V2DaemonOptions,
): Result<{ frame: KeyExchangeResponseV2; session: SessionKeys }> {
  const { daemonStatic, sessionId, epoch } = options;
  if (!Number.isSafeInteger(epoch) || epoch < 1) return fail('bad_frame', 'epoch must be an integer >= 1');
  const daemonPublicKeyText = options.daemonPublicKeyText ?? toBase64Url(daemonStatic.publicKey);
  const clientKey = decodePublicKey(init.clientPublicKey);
  if (!clientKey.ok) return clientKey;
  const clientNonce = fromBase64Url(init.clientNonce);
  if (!clientNonce.ok) return clientNonce;
  if (clientNonce.bytes.length < MIN_CLIENT_NONCE || clientNonce.bytes.length > MAX_CLIENT_NONCE) {
    return fail('bad_nonce', `client nonce must be ${MIN_CLIENT_NONCE}..${MAX_CLIENT_NONCE} bytes`);
  }
  const claimed = fromBase64Url(init.clientProof);
  if (!claimed.ok) return claimed;
  const material = inputKeyMaterial(dh(daemonStatic.privateKey, clientKey.publicKey), init.profile, options.pairingSecret);
  if (!material.ok) return material;
  const expected = clientProofV2(material.ikm, clientNonce.bytes, init, daemonPublicKeyText);
  if (!constantTimeEqual(claimed.bytes, expected)) return fail('client_proof_mismatch', 'client proof does not verify');

  const daemonNonce = options.random(DAEMON_NONCE_LENGTH);
  const daemonNonceText = toBase64Url(daemonNonce);
  const { key, proof } = sessionAndProofV2(material.ikm, clientNonce.bytes, daemonNonce, {
    requestId: init.requestId,
    profile: init.profile,
    clientPublicKey: init.clientPublicKey,
    daemonPublicKeyText,
    clientNonce: init.clientNonce,
    daemonNonce: daemonNonceText,
    sessionId,
    epoch,
  });
  const frame: KeyExchangeResponseV2 = {
    type: 'relay_key_exchange_response',
    version: 2,
    profile: init.profile,
    requestId: init.requestId,
    daemonPublicKey: daemonPublicKeyText,
    daemonNonce: daemonNonceText,
    sessionId,
    epoch,
    proof: toBase64Url(proof),
  };
  return { ok: true, frame, session: { profile: init.profile, sessionId, epoch, key } };
}

/** finishKeyExchangeV2 checks the daemon's proof as the client and returns the session. */
export function finishKeyExchangeV2(
  pending: PendingKeyExchangeV2,
  response: KeyExchangeResponseV2,
): Result<{ session: SessionKeys }> {
  const { init } = pending;
  if (response.requestId !== init.requestId) return fail('request_id_mismatch', 'response is for another request');
  if (response.profile !== init.profile) return fail('profile_mismatch', 'response profile differs from the init');
  const daemonNonce = fromBase64Url(response.daemonNonce);
  if (!daemonNonce.ok) return daemonNonce;
  if (daemonNonce.bytes.length !== DAEMON_NONCE_LENGTH) return fail('bad_nonce', 'daemon nonce must be 16 bytes');
  const claimed = fromBase64Url(response.proof);
  if (!claimed.ok) return claimed;
  const { key, proof } = sessionAndProofV2(pending.ikm, pending.clientNonce, daemonNonce.bytes, {
    requestId: init.requestId,
    profile: init.profile,
    clientPublicKey: init.clientPublicKey,
    daemonPublicKeyText: pending.daemonPublicKeyText,
    clientNonce: init.clientNonce,
    daemonNonce: response.daemonNonce,
    sessionId: response.sessionId,
    epoch: response.epoch,
  });
  if (!constantTimeEqual(claimed.bytes, proof)) return fail('proof_mismatch', 'daemon proof does not verify');
  return { ok: true, session: { profile: init.profile, sessionId: response.sessionId, epoch: response.epoch, key } };
}
