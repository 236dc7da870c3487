// ClientPeer is the initiator side as a state machine without I/O: one
// handshake in flight at a time, the current session for sending, and the
// previous session kept for opening late envelopes after a re-key.
import { fail, type Result } from './errors.js';
import type {
  EnvelopeFrame,
  KeyExchangeInitV2,
  KeyExchangeInitV3,
  KeyExchangeResponseV2,
  KeyExchangeResponseV3,
  KeyUpdateRequiredFrame,
} from './frames.js';
import { finishHandshakeV3, startHandshakeV3, type PendingHandshakeV3 } from './handshake-v3.js';
import { newRequestId } from './ids.js';
import { finishKeyExchangeV2, startKeyExchangeV2, type PendingKeyExchangeV2 } from './kex-v2.js';
import { decodePublicKey, type KeyPair } from './keys.js';
import type { Profile } from './profiles.js';
import type { RandomSource } from './random.js';
import { acceptKeyUpdate } from './rotation.js';
import { newSessionState, openOnSession, sealOnSession, type SessionState } from './session.js';

/** ClientPeerOptions configures an initiator. */
export interface ClientPeerOptions {
  readonly profile: Profile;
  /** version selects the v3 handshake (default) or the legacy v2 key exchange. */
  readonly version?: 2 | 3;
  readonly clientStatic: KeyPair;
  /** daemonPublicKeyText is the daemon's identity string, learned out of band. */
  readonly daemonPublicKeyText: string;
  readonly pairingSecret?: Uint8Array;
  readonly pairingPeerId?: string;
  readonly random: RandomSource;
}

type Pending =
  | { version: 3; requestId: string; state: PendingHandshakeV3 }
  | { version: 2; requestId: string; state: PendingKeyExchangeV2 };

/** ClientPeer holds the client side of one logical channel to a daemon. */
export class ClientPeer {
  private pending: Pending | undefined;
  private currentState: SessionState | undefined;
  private previousState: SessionState | undefined;

  constructor(private readonly options: ClientPeerOptions) {}

  /** current is the session used for sending, once a handshake completed. */
  get current(): SessionState | undefined {
    return this.currentState;
  }

  /** startHandshake builds an init; naming previousSessionId asks the daemon to re-key. */
  startHandshake(previousSessionId?: string): Result<{ frame: KeyExchangeInitV2 | KeyExchangeInitV3 }> {
    const { options } = this;
    const requestId = newRequestId(options.random);
    const shared = {
      profile: options.profile,
      requestId,
      random: options.random,
      ...(options.pairingSecret ? { pairingSecret: options.pairingSecret } : {}),
      ...(options.pairingPeerId !== undefined ? { pairingPeerId: options.pairingPeerId } : {}),
      ...(previousSessionId !== undefined ? { previousSessionId } : {}),
    };
    if (options.version === 2) {
      const started = startKeyExchangeV2({
        ...shared,
        clientKey: options.clientStatic,
        daemonPublicKeyText: options.daemonPublicKeyText,
      });
      if (!started.ok) return started;
      this.pending = { version: 2, requestId, state: started.pending };
      return { ok: true, frame: started.frame };
    }
    const daemonKey = decodePublicKey(options.daemonPublicKeyText);
    if (!daemonKey.ok) return daemonKey;
    const started = startHandshakeV3({
      ...shared,
      clientStatic: options.clientStatic,
      daemonStaticPublicKey: daemonKey.publicKey,
    });
    if (!started.ok) return started;
    this.pending = { version: 3, requestId, state: started.pending };
    return { ok: true, frame: started.frame };
  }

  /** handleResponse finishes the handshake in flight and makes its session current. */
  handleResponse(response: KeyExchangeResponseV2 | KeyExchangeResponseV3): Result<{ session: SessionState }> {
    const pending = this.pending;
    if (!pending) return fail('request_id_mismatch', 'no handshake is in flight');
    if (response.requestId !== pending.requestId) return fail('request_id_mismatch', 'response is for another request');
    if (response.version !== pending.version) return fail('bad_frame', 'response version differs from the init');
    const finished =
      pending.version === 3
        ? finishHandshakeV3(pending.state, response as KeyExchangeResponseV3)
        : finishKeyExchangeV2(pending.state, response as KeyExchangeResponseV2);
    if (!finished.ok) return finished;
    this.pending = undefined;
    this.previousState = this.currentState;
    this.currentState = newSessionState(finished.session);
    return { ok: true, session: this.currentState };
  }

  /** seal encrypts text on the current session. */
  seal(plaintext: string): Result<{ frame: EnvelopeFrame }> {
    if (!this.currentState) return fail('unknown_session', 'no session is established');
    return sealOnSession(this.currentState, plaintext, this.options.random);
  }

  /** open authenticates a daemon envelope on the current or the just-replaced session. */
  open(frame: EnvelopeFrame): Result<{ plaintext: string }> {
    const state = [this.currentState, this.previousState].find((s) => s?.keys.sessionId === frame.sessionId);
    if (!state) return fail('unknown_session', 'envelope is for an unknown session');
    return openOnSession(state, frame);
  }

  /** handleKeyUpdate starts the re-key the daemon asked for (docs/e2ee-protocol.md#key-update step 4). */
  handleKeyUpdate(frame: KeyUpdateRequiredFrame): Result<{ frame: KeyExchangeInitV2 | KeyExchangeInitV3 }> {
    const state = this.currentState;
    if (!state) return fail('unknown_session', 'no session is established');
    const accepted = acceptKeyUpdate(state, frame);
    if (!accepted.ok) return accepted;
    return this.startHandshake(state.keys.sessionId);
  }

  /** forget drops all sessions and any handshake in flight (e.g. after the daemon reconnected). */
  forget(): void {
    this.pending = undefined;
    this.currentState = undefined;
    this.previousState = undefined;
  }
}
