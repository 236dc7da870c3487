// The v3 handshake (docs/e2ee-protocol.md#handshake-v3, with the state of
// docs/e2ee-protocol.md#symmetric-state): IK / IKpsk2 over P-256, AES-GCM, SHA-256, with the protocol's deviations from stock Noise (no message-1
// payload, no MixKey(e) in psk mode, one HKDF-derived bidirectional key).
import { fromBase64Url, toBase64Url } from './base64url.js';
import { concatBytes, constantTimeEqual, decodeUtf8, utf8 } from './bytes.js';
import { fail, type Result } from './errors.js';
import type { KeyExchangeInitV3, KeyExchangeResponseV3 } from './frames.js';
import { hkdf32 } from './kdf.js';
import { checkPublicKey, decodePublicKey, dh, generateKeyPair, type KeyPair } from './keys.js';
import { protocolName, usesPsk, type Profile } from './profiles.js';
import type { RandomSource } from './random.js';
import { PAIRING_SECRET_LENGTH, type SessionKeys } from './session-key.js';
import { SymmetricState } from './symmetric-state.js';

/** PROLOGUE_V3 is mixed right after Init on both sides. */
export const PROLOGUE_V3 = 'viewport-relay-noise-v3';

/** InitiatorOptions configures the client side of a v3 handshake. */
export interface InitiatorOptions {
  readonly profile: Profile;
  readonly requestId: string;
  readonly clientStatic: KeyPair;
  /** daemonStaticPublicKey is learned out of band; the response's copy never replaces it. */
  readonly daemonStaticPublicKey: Uint8Array;
  readonly pairingSecret?: Uint8Array;
  readonly pairingPeerId?: string;
  readonly previousSessionId?: string;
  /** random supplies the ephemeral scalar (32 bytes). */
  readonly random: RandomSource;
}

/** PendingHandshakeV3 is the initiator's saved state between message 1 and message 2. */
export interface PendingHandshakeV3 {
  readonly profile: Profile;
  readonly requestId: string;
  readonly clientStatic: KeyPair;
  readonly clientEphemeral: KeyPair;
  readonly pairingSecret?: Uint8Array;
  readonly state: SymmetricState;
}

/** ResponderOptions configures the daemon side once it has decided to answer. */
export interface ResponderOptions {
  readonly daemonStatic: KeyPair;
  readonly sessionId: string;
  readonly epoch: number;
  /** pairingSecret is the secret bound to the init's pairingPeerId (noise-ikpsk2 only). */
  readonly pairingSecret?: Uint8Array;
  /** random supplies the daemon ephemeral scalar (32 bytes). */
  readonly random: RandomSource;
}

/** ResponderResult is the daemon's answer plus the session it now shares. */
export interface ResponderResult {
  readonly frame: KeyExchangeResponseV3;
  readonly session: SessionKeys;
  readonly clientStaticPublicKey: Uint8Array;
}

function initialState(profile: Profile, daemonStaticPublicKey: Uint8Array): SymmetricState {
  const state = SymmetricState.init(protocolName(profile));
  // Two separate MixHash calls: concatenating them would give a different h.
  state.mixHash(utf8(PROLOGUE_V3));
  state.mixHash(daemonStaticPublicKey);
  return state;
}

function checkPairingSecret(profile: Profile, secret: Uint8Array | undefined): Result<object> {
  if (!usesPsk(profile)) return { ok: true };
  if (!secret || secret.length !== PAIRING_SECRET_LENGTH) {
    return fail('bad_pairing_secret', `noise-ikpsk2 needs a ${PAIRING_SECRET_LENGTH}-byte pairing secret`);
  }
  return { ok: true };
}

/** metadataText is the byte-exact metadata payload of message 2. */
export function metadataText(sessionId: string, epoch: number): string {
  return JSON.stringify({ sessionId, epoch });
}

/** sessionKeyV3 derives the single bidirectional key from Split() and the final hash. */
export function sessionKeyV3(state: SymmetricState, profile: Profile, sessionId: string, epoch: number): Uint8Array {
  const [k1, k2] = state.split();
  const info = utf8(`viewport-relay-session-v3|${profile}|${sessionId}|${String(epoch)}`);
  return hkdf32(concatBytes(k1, k2), state.handshakeHash(), info);
}

/** startHandshakeV3 builds message 1 (relay_key_exchange_init v3) and the state to finish it. */
export function startHandshakeV3(
  options: InitiatorOptions,
): Result<{ frame: KeyExchangeInitV3; pending: PendingHandshakeV3 }> {
  const { profile, requestId, clientStatic, daemonStaticPublicKey } = options;
  const daemonKey = checkPublicKey(daemonStaticPublicKey);
  if (!daemonKey.ok) return daemonKey;
  const psk = checkPairingSecret(profile, options.pairingSecret);
  if (!psk.ok) return psk;
  if (usesPsk(profile) && !options.pairingPeerId?.trim()) {
    return fail('missing_pairing_peer_id', 'noise-ikpsk2 needs a non-blank pairingPeerId');
  }
  const ephemeral = generateKeyPair(options.random);
  const state = initialState(profile, daemonStaticPublicKey);
  state.mixHash(ephemeral.publicKey); // e
  state.mixKey(dh(ephemeral.privateKey, daemonStaticPublicKey)); // es
  const encStatic = state.encryptAndHash(clientStatic.publicKey); // s
  if (!encStatic.ok) return encStatic;
  state.mixKey(dh(clientStatic.privateKey, daemonStaticPublicKey)); // ss
  // Message 1 has no payload: nothing more is encrypted or mixed.

  const frame: KeyExchangeInitV3 = {
    type: 'relay_key_exchange_init',
    version: 3,
    profile,
    requestId,
    clientEphemeralPublicKey: toBase64Url(ephemeral.publicKey),
    encryptedClientStatic: toBase64Url(encStatic.ciphertext),
  };
  if (options.pairingPeerId !== undefined) frame.pairingPeerId = options.pairingPeerId;
  if (options.previousSessionId !== undefined) frame.previousSessionId = options.previousSessionId;
  const pending: PendingHandshakeV3 = {
    profile,
    requestId,
    clientStatic,
    clientEphemeral: ephemeral,
    state,
    ...(options.pairingSecret ? { pairingSecret: options.pairingSecret } : {}),
  };
  return { ok: true, frame, pending };
}

/** respondHandshakeV3 processes message 1 as the daemon and builds message 2. */
export function respondHandshakeV3(init: KeyExchangeInitV3, options: ResponderOptions): Result<ResponderResult> {
  const { daemonStatic, sessionId, epoch } = options;
  const { profile } = init;
  if (!Number.isSafeInteger(epoch) || epoch < 1) return fail('bad_frame', 'epoch must be an integer >= 1');
  const psk = checkPairingSecret(profile, options.pairingSecret);
  if (!psk.ok) return psk;
  const re = decodePublicKey(init.clientEphemeralPublicKey);
  if (!re.ok) return re;
  const encStatic = fromBase64Url(init.encryptedClientStatic);
  if (!encStatic.ok) return encStatic;

  const state = initialState(profile, daemonStatic.publicKey);
  state.mixHash(re.publicKey);
  state.mixKey(dh(daemonStatic.privateKey, re.publicKey)); // es
  const opened = state.decryptAndHash(encStatic.bytes); // s
  if (!opened.ok) return opened;
  const rs = checkPublicKey(opened.plaintext);
  if (!rs.ok) return rs;
  state.mixKey(dh(daemonStatic.privateKey, rs.publicKey)); // ss

  const ephemeral = generateKeyPair(options.random);
  state.mixHash(ephemeral.publicKey); // e
  state.mixKey(dh(ephemeral.privateKey, re.publicKey)); // ee
  state.mixKey(dh(ephemeral.privateKey, rs.publicKey)); // se
  if (options.pairingSecret && usesPsk(profile)) state.mixKeyAndHash(options.pairingSecret); // psk
  const encMeta = state.encryptAndHash(utf8(metadataText(sessionId, epoch)));
  if (!encMeta.ok) return encMeta;

  const frame: KeyExchangeResponseV3 = {
    type: 'relay_key_exchange_response',
    version: 3,
    profile,
    requestId: init.requestId,
    daemonPublicKey: toBase64Url(daemonStatic.publicKey),
    daemonEphemeralPublicKey: toBase64Url(ephemeral.publicKey),
    encryptedMetadata: toBase64Url(encMeta.ciphertext),
    sessionId,
    epoch,
    proof: toBase64Url(state.handshakeHash()),
  };
  const session: SessionKeys = { profile, sessionId, epoch, key: sessionKeyV3(state, profile, sessionId, epoch) };
  return { ok: true, frame, session, clientStaticPublicKey: rs.publicKey };
}

function parseMetadata(bytes: Uint8Array): Result<{ sessionId: string; epoch: number }> {
  const text = decodeUtf8(bytes);
  if (text === undefined) return fail('bad_metadata', 'handshake metadata is not UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('bad_metadata', 'handshake metadata is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_metadata', 'handshake metadata must be a JSON object');
  }
  const { sessionId, epoch } = value as { sessionId?: unknown; epoch?: unknown };
  if (typeof sessionId !== 'string' || typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 1) {
    return fail('bad_metadata', 'handshake metadata needs a string sessionId and an integer epoch >= 1');
  }
  return { ok: true, sessionId, epoch };
}

/** finishHandshakeV3 verifies message 2 as the client and derives the session key. */
export function finishHandshakeV3(
  pending: PendingHandshakeV3,
  response: KeyExchangeResponseV3,
): Result<{ session: SessionKeys }> {
  if (response.requestId !== pending.requestId) return fail('request_id_mismatch', 'response is for another request');
  if (response.profile !== pending.profile) return fail('profile_mismatch', 'response profile differs from the init');
  const psk = checkPairingSecret(pending.profile, pending.pairingSecret);
  if (!psk.ok) return psk;
  const reD = decodePublicKey(response.daemonEphemeralPublicKey);
  if (!reD.ok) return reD;
  const encMeta = fromBase64Url(response.encryptedMetadata);
  if (!encMeta.ok) return encMeta;
  const proof = fromBase64Url(response.proof);
  if (!proof.ok) return proof;

  // Work on a copy so a rejected response leaves the pending handshake usable.
  const state = pending.state.clone();
  state.mixHash(reD.publicKey); // e
  state.mixKey(dh(pending.clientEphemeral.privateKey, reD.publicKey)); // ee
  state.mixKey(dh(pending.clientStatic.privateKey, reD.publicKey)); // se
  if (pending.pairingSecret && usesPsk(pending.profile)) state.mixKeyAndHash(pending.pairingSecret); // psk
  const opened = state.decryptAndHash(encMeta.bytes);
  if (!opened.ok) return opened;
  const meta = parseMetadata(opened.plaintext);
  if (!meta.ok) return meta;
  if (meta.sessionId !== response.sessionId || meta.epoch !== response.epoch) {
    return fail('metadata_mismatch', 'cleartext sessionId/epoch differ from the authenticated metadata');
  }
  if (!constantTimeEqual(proof.bytes, state.handshakeHash())) {
    return fail('proof_mismatch', 'handshake proof does not match the local transcript hash');
  }
  const key = sessionKeyV3(state, response.profile, meta.sessionId, meta.epoch);
  return { ok: true, session: { profile: response.profile, sessionId: meta.sessionId, epoch: meta.epoch, key } };
}
