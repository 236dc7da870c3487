// Per-session envelope state on one side: the shared key, this side's txSeq,
// its receive window and whether a re-key is pending. Owned by one peer.
import { fail, type Result } from './errors.js';
import { openEnvelope, sealEnvelope } from './envelope.js';
import type { EnvelopeFrame } from './frames.js';
import type { RandomSource } from './random.js';
import { ReplayWindow } from './replay-window.js';
import type { SessionKeys } from './session-key.js';

/** SessionState is one side's live view of a session. */
export interface SessionState {
  readonly keys: SessionKeys;
  /** txSeq is the seq of the last envelope this side sealed (0 before the first). */
  txSeq: number;
  readonly rx: ReplayWindow;
  rotationPending: boolean;
  lastActivityMs: number;
}

/** newSessionState starts counters at zero, as after every handshake or re-key. */
export function newSessionState(keys: SessionKeys, nowMs = 0): SessionState {
  return { keys, txSeq: 0, rx: new ReplayWindow(), rotationPending: false, lastActivityMs: nowMs };
}

/** sealOnSession seals `plaintext` with the next seq; txSeq advances only on success. */
export function sealOnSession(
  state: SessionState,
  plaintext: string,
  random: RandomSource,
): Result<{ frame: EnvelopeFrame }> {
  const { profile, sessionId, epoch, key } = state.keys;
  const sealed = sealEnvelope(key, { profile, sessionId, epoch, seq: state.txSeq + 1 }, plaintext, random);
  if (sealed.ok) state.txSeq += 1;
  return sealed;
}

/** openOnSession applies docs/e2ee-protocol.md#envelope-open in order: session, profile/epoch, window, open, then commit the seq. */
export function openOnSession(
  state: SessionState,
  frame: EnvelopeFrame,
  nowMs = state.lastActivityMs,
): Result<{ plaintext: string }> {
  const { keys } = state;
  if (frame.sessionId !== keys.sessionId) return fail('unknown_session', 'envelope is for another session');
  if (frame.profile !== keys.profile) return fail('profile_mismatch', 'envelope profile differs from the session');
  if (frame.epoch !== keys.epoch) return fail('epoch_mismatch', 'envelope epoch differs from the session');
  const fresh = state.rx.check(frame.seq);
  if (!fresh.ok) return fresh;
  const opened = openEnvelope(keys.key, frame);
  if (!opened.ok) return opened;
  state.rx.commit(frame.seq);
  state.lastActivityMs = nowMs;
  return opened;
}
