// Frame text the load generator sends: real docs/protocol.md#frames shapes with filler
// base64 content, so the relay's validation runs exactly as in production.
// Pure: no randomness; the caller passes whatever identifiers it wants.

const PROFILE = 'noise-ik';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** filler returns n base64 characters, varied so nothing downstream can special-case a run of one byte. */
function filler(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += B64[(i * 7 + 3) % 64];
  return s;
}

/**
 * e2eeEnvelope builds a v2 envelope whose UTF-8 text is exactly `size` bytes
 * (the ciphertext is padded to fit); it throws if size is too small for the fields.
 */
export function e2eeEnvelope(sessionId: string, seq: number, size: number): string {
  const head = `{"type":"e2ee","version":2,"profile":"${PROFILE}","sessionId":"${sessionId}","epoch":1,"seq":${seq},"iv":"${filler(16)}","tag":"${filler(24)}","ciphertext":"`;
  const tail = '"}';
  const pad = size - head.length - tail.length;
  if (pad < 4) throw new Error(`envelope size ${size} is too small for session ${sessionId}`);
  return head + filler(pad) + tail;
}

/** kexInit builds a v3 relay_key_exchange_init that opens a session request. */
export function kexInit(requestId: string): string {
  return JSON.stringify({
    type: 'relay_key_exchange_init',
    version: 3,
    profile: PROFILE,
    requestId,
    clientEphemeralPublicKey: filler(44),
    encryptedClientStatic: filler(64),
  });
}

/** kexResponse builds the daemon's v3 answer that makes the relay record session ownership. */
export function kexResponse(requestId: string, sessionId: string): string {
  return JSON.stringify({
    type: 'relay_key_exchange_response',
    version: 3,
    profile: PROFILE,
    requestId,
    daemonPublicKey: filler(44),
    daemonEphemeralPublicKey: filler(44),
    encryptedMetadata: filler(64),
    sessionId,
    proof: filler(44),
    epoch: 1,
  });
}

/** SEQ_BASE makes every seq 10 digits, so a frame's seq can be rewritten in place without changing its length. */
export const SEQ_BASE = 1_000_000_000;
const SEQ_KEY = Buffer.from('"seq":');

/** seqOffset is where the 10 seq digits start in an envelope built with a seq >= SEQ_BASE. */
export function seqOffset(frame: Buffer): number {
  const at = frame.indexOf(SEQ_KEY);
  if (at < 0) throw new Error('envelope has no seq');
  return at + SEQ_KEY.length;
}

/**
 * writeSeq stamps SEQ_BASE + n into the envelope's seq digits, so no two
 * frames of a session carry the same bytes (as with real AES-GCM traffic;
 * identical frames would look like replays to a backplane's replay guard).
 */
export function writeSeq(frame: Buffer, offset: number, n: number): void {
  let v = SEQ_BASE + (n % SEQ_BASE);
  for (let i = offset + 9; i >= offset; i--) {
    frame[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** sessionIdOf pulls the sessionId out of envelope text without parsing it; undefined if absent. */
export function sessionIdOf(text: Buffer): string | undefined {
  const at = text.indexOf(SESSION_KEY);
  if (at < 0) return undefined;
  const start = at + SESSION_KEY.length;
  const end = text.indexOf(QUOTE, start);
  return end < 0 ? undefined : text.toString('latin1', start, end);
}

const SESSION_KEY = Buffer.from('"sessionId":"');
const QUOTE = 0x22;
