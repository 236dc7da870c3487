// DaemonPeer is the responder side as a state machine without I/O: it answers
// v2/v3 inits, keeps a bounded session table, opens and seals envelopes, and
// asks for rotation after a threshold. Failures are values; the caller decides
// to stay silent on the wire (the daemon never answers a rejected init).
import { toBase64Url } from './base64url.js';
import { fail, type Result } from './errors.js';
import type {
  EnvelopeFrame,
  KeyExchangeInitV2,
  KeyExchangeInitV3,
  KeyExchangeResponseV2,
  KeyExchangeResponseV3,
  KeyUpdateRequiredFrame,
} from './frames.js';
import { respondHandshakeV3 } from './handshake-v3.js';
import { newSessionId } from './ids.js';
import { respondKeyExchangeV2 } from './kex-v2.js';
import type { KeyPair } from './keys.js';
import { satisfiesProfile, usesPsk, type Profile } from './profiles.js';
import type { RandomSource } from './random.js';
import { acceptKeyUpdate, admitRekey, DEFAULT_ROTATE_AFTER_MESSAGES, keyUpdateFrame, needsRotationRequest } from './rotation.js';
import { newSessionState, openOnSession, sealOnSession, type SessionState } from './session.js';

/** DaemonPeerOptions configures a responder. */
export interface DaemonPeerOptions {
  readonly identity: KeyPair;
  /** requiredProfile is the minimum profile a client init must request. */
  readonly requiredProfile?: Profile;
  /** pairingSecrets maps pairingPeerId to its 32-byte secret (noise-ikpsk2). */
  readonly pairingSecrets?: ReadonlyMap<string, Uint8Array>;
  readonly rotateAfterMessages?: number;
  readonly maxSessions?: number;
  readonly idleTtlMs?: number;
  readonly random: RandomSource;
  readonly now: () => number;
}

/** DaemonSealResult carries the envelope and, when the threshold was just reached, the key update. */
export interface DaemonSealResult {
  readonly frame: EnvelopeFrame;
  readonly keyUpdate?: KeyUpdateRequiredFrame;
}

/** DaemonPeer holds the daemon side of every session it negotiated. */
export class DaemonPeer {
  private readonly sessions = new Map<string, SessionState>();
  private readonly rotateAfter: number;
  private readonly maxSessions: number;
  private readonly idleTtlMs: number;

  constructor(private readonly options: DaemonPeerOptions) {
    this.rotateAfter = options.rotateAfterMessages ?? DEFAULT_ROTATE_AFTER_MESSAGES;
    this.maxSessions = options.maxSessions ?? 256;
    this.idleTtlMs = options.idleTtlMs ?? 15 * 60_000;
  }

  /** session returns the live state of a session, if any. */
  session(sessionId: string): SessionState | undefined {
    return this.sessions.get(sessionId);
  }

  /** clear forgets every session, as a daemon does when it reconnects to the relay. */
  clear(): void {
    this.sessions.clear();
  }

  /** handleInit answers a v2 or v3 init, applying profile, pairing and re-key admission. */
  handleInit(
    init: KeyExchangeInitV2 | KeyExchangeInitV3,
  ): Result<{ response: KeyExchangeResponseV2 | KeyExchangeResponseV3; session: SessionState }> {
    this.prune();
    const { requiredProfile } = this.options;
    if (requiredProfile && !satisfiesProfile(init.profile, requiredProfile)) {
      return fail('profile_too_weak', 'init profile is weaker than the required profile');
    }
    let pairingSecret: Uint8Array | undefined;
    if (usesPsk(init.profile)) {
      const peerId = init.pairingPeerId?.trim();
      pairingSecret = peerId ? this.options.pairingSecrets?.get(peerId) : undefined;
      if (!pairingSecret) return fail('bad_pairing_secret', 'no pairing secret is bound to this pairingPeerId');
    }
    let epoch = 1;
    const previousId = init.previousSessionId;
    if (previousId !== undefined) {
      const admitted = admitRekey(this.sessions.get(previousId), init.profile);
      if (!admitted.ok) return admitted;
      epoch = admitted.epoch;
    }
    const common = {
      daemonStatic: this.options.identity,
      sessionId: newSessionId(this.options.random),
      epoch,
      random: this.options.random,
      ...(pairingSecret ? { pairingSecret } : {}),
    };
    const answered = init.version === 3 ? respondHandshakeV3(init, common) : respondKeyExchangeV2(init, common);
    if (!answered.ok) return answered;
    if (previousId !== undefined) this.sessions.delete(previousId);
    const state = newSessionState(answered.session, this.options.now());
    this.insert(state);
    return { ok: true, response: answered.frame, session: state };
  }

  /** open authenticates a client envelope for a known session. */
  open(frame: EnvelopeFrame): Result<{ plaintext: string; session: SessionState }> {
    const state = this.sessions.get(frame.sessionId);
    if (!state) return fail('unknown_session', 'envelope is for an unknown session');
    const opened = openOnSession(state, frame, this.options.now());
    if (!opened.ok) return opened;
    return { ok: true, plaintext: opened.plaintext, session: state };
  }

  /** seal encrypts for a session and, once per session, adds the rotation request. */
  seal(sessionId: string, plaintext: string): Result<DaemonSealResult> {
    const state = this.sessions.get(sessionId);
    if (!state) return fail('unknown_session', 'cannot seal for an unknown session');
    const sealed = sealOnSession(state, plaintext, this.options.random);
    if (!sealed.ok) return sealed;
    state.lastActivityMs = this.options.now();
    if (!needsRotationRequest(state, this.rotateAfter)) return { ok: true, frame: sealed.frame };
    state.rotationPending = true;
    return { ok: true, frame: sealed.frame, keyUpdate: keyUpdateFrame(state) };
  }

  /** handleKeyUpdate applies an inbound relay_key_update_required (docs/e2ee-protocol.md#key-update step 2). */
  handleKeyUpdate(frame: KeyUpdateRequiredFrame): Result<object> {
    const state = this.sessions.get(frame.sessionId);
    if (!state) return fail('unknown_session', 'key update is for an unknown session');
    return acceptKeyUpdate(state, frame);
  }

  /** identityText is the daemon's public identity as clients must know it. */
  identityText(): string {
    return toBase64Url(this.options.identity.publicKey);
  }

  private insert(state: SessionState): void {
    this.sessions.set(state.keys.sessionId, state);
    // Map iteration is insertion order, so the first key is the oldest session.
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }

  private prune(): void {
    const cutoff = this.options.now() - this.idleTtlMs;
    for (const [id, state] of this.sessions) if (state.lastActivityMs < cutoff) this.sessions.delete(id);
  }
}
