// The daemon half of a probe: answer handshakes and send every plaintext back
// on its session, with the key update the daemon owes once its threshold is
// reached. Pure (frames in, frames out) so an echo daemon over any transport,
// in a test or in the dev relay, behaves exactly like `viewport-relay probe`'s.
import type { DaemonPeer } from './daemon-peer.js';
import { parseE2eeFrame } from './frames.js';

/** EchoAnswer is what to send back for one inbound frame, and what went wrong, if anything. */
export interface EchoAnswer {
  readonly send: readonly object[];
  readonly failure?: string;
  /** error is the refusal behind failure: at which step, and the E2EE error's code and message. */
  readonly error?: { readonly step: 'init' | 'open' | 'seal'; readonly code: string; readonly message: string };
  /** kind names what the frame was, for counting and logs (never its content). */
  readonly kind: 'handshake' | 'envelope' | 'ignored';
}

const IGNORED: EchoAnswer = { send: [], kind: 'ignored' };

/** answerAsEchoDaemon handles one decoded frame the relay delivered to the daemon. */
export function answerAsEchoDaemon(daemon: DaemonPeer, value: unknown): EchoAnswer {
  const parsed = parseE2eeFrame(value);
  if (!parsed.ok) return IGNORED; // relay_status and other control frames
  const frame = parsed.frame;
  if (frame.type === 'relay_key_exchange_init') {
    const answered = daemon.handleInit(frame);
    if (!answered.ok) {
      return { send: [], kind: 'handshake', failure: `key exchange init refused (${answered.error.code})`, error: { step: 'init', ...answered.error } };
    }
    return { send: [answered.response], kind: 'handshake' };
  }
  if (frame.type !== 'e2ee') return IGNORED;
  const opened = daemon.open(frame);
  if (!opened.ok) return { send: [], kind: 'envelope', failure: `client envelope refused (${opened.error.code})`, error: { step: 'open', ...opened.error } };
  const sealed = daemon.seal(frame.sessionId, opened.plaintext);
  if (!sealed.ok) return { send: [], kind: 'envelope', failure: `could not seal the echo (${sealed.error.code})`, error: { step: 'seal', ...sealed.error } };
  return { send: sealed.keyUpdate ? [sealed.frame, sealed.keyUpdate] : [sealed.frame], kind: 'envelope' };
}
