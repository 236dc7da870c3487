// Key rotation (docs/e2ee-protocol.md#key-update, docs/e2ee-protocol.md#rekey-admission):
// the daemon asks for epoch + 1 with relay_key_update_required; the client answers with a fresh handshake that
// names previousSessionId; the daemon admits it only while rotation is pending.
import { fail, type Result } from './errors.js';
import type { KeyUpdateRequiredFrame } from './frames.js';
import type { Profile } from './profiles.js';
import type { SessionState } from './session.js';

/** DEFAULT_ROTATE_AFTER_MESSAGES is the daemon's reference threshold. */
export const DEFAULT_ROTATE_AFTER_MESSAGES = 250;

/** keyUpdateFrame is the control frame asking the client to re-key `state`. */
export function keyUpdateFrame(state: SessionState): KeyUpdateRequiredFrame {
  return {
    type: 'relay_key_update_required',
    sessionId: state.keys.sessionId,
    nextEpoch: state.keys.epoch + 1,
    reason: 'message_threshold',
  };
}

/** needsRotationRequest is true once, when txSeq reaches the threshold and nothing is pending. */
export function needsRotationRequest(state: SessionState, rotateAfterMessages: number): boolean {
  return !state.rotationPending && state.txSeq >= Math.max(1, rotateAfterMessages);
}

/** acceptKeyUpdate marks rotation pending when the frame names this session and exactly epoch + 1. */
export function acceptKeyUpdate(state: SessionState, frame: KeyUpdateRequiredFrame): Result<object> {
  if (frame.sessionId !== state.keys.sessionId) return fail('unknown_session', 'key update is for another session');
  if (!Number.isSafeInteger(frame.nextEpoch) || frame.nextEpoch !== state.keys.epoch + 1) {
    return fail('epoch_mismatch', 'key update must name exactly epoch + 1');
  }
  state.rotationPending = true;
  return { ok: true };
}

/** admitRekey decides the epoch of a handshake that names previousSessionId (docs/e2ee-protocol.md#rekey-admission). */
export function admitRekey(previous: SessionState | undefined, profile: Profile): Result<{ epoch: number }> {
  if (!previous) return fail('rekey_not_admitted', 'previous session is unknown');
  if (previous.keys.profile !== profile) return fail('rekey_not_admitted', 're-key must keep the profile');
  if (!previous.rotationPending) return fail('rekey_not_admitted', 'no rotation is pending for the previous session');
  return { ok: true, epoch: previous.keys.epoch + 1 };
}
