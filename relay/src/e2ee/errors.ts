// Stable failure codes for the e2ee toolkit. Every expected failure is a
// value carrying one of these codes, so callers can count and branch on it
// without parsing message text.

/** E2eeErrorCode names why a key, frame, handshake step or envelope was refused. */
export type E2eeErrorCode =
  | 'bad_base64url'
  | 'bad_private_key'
  | 'bad_public_key'
  | 'compressed_public_key'
  | 'off_curve_public_key'
  | 'bad_pairing_secret'
  | 'missing_pairing_peer_id'
  | 'bad_frame'
  | 'bad_profile'
  | 'profile_mismatch'
  | 'profile_too_weak'
  | 'request_id_mismatch'
  | 'decrypt_failed'
  | 'bad_metadata'
  | 'metadata_mismatch'
  | 'proof_mismatch'
  | 'client_proof_mismatch'
  | 'bad_nonce'
  | 'nonce_exhausted'
  | 'rekey_not_admitted'
  | 'unknown_session'
  | 'epoch_mismatch'
  | 'seq_replayed'
  | 'seq_too_old'
  | 'seq_too_far'
  | 'bad_seq'
  | 'bad_iv'
  | 'bad_tag'
  | 'empty_plaintext'
  | 'bad_utf8';

/** E2eeError is the failure value; `message` never contains key material. */
export interface E2eeError {
  readonly code: E2eeErrorCode;
  readonly message: string;
}

/** Result is the success-or-failure value every fallible e2ee function returns. */
export type Result<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: E2eeError };

/** fail builds a failed Result. */
export function fail(code: E2eeErrorCode, message: string): { ok: false; error: E2eeError } {
  return { ok: false, error: { code, message } };
}
