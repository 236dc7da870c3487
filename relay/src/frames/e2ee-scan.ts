// The e2ee fast path: most frames a relay carries are e2ee envelopes, and
// turning each into a string and a parsed object costs more than forwarding it
// (at 16 KiB, most of the relay's own per-frame CPU). scanE2ee validates the
// common shape of an envelope on the bytes and never materialises the
// ciphertext. It only ever accepts: anything it is not sure about (whitespace,
// escapes, control bytes, non-integer numbers, nested values, repeated or
// `schema` keys, a value that fails a check) returns undefined, and the caller
// runs the full parser, so every accept/reject decision stays the full parser's.
import type { E2eeView } from './e2ee.js';
import { hasControlByteOrBackslash } from './control-bytes.js';
import type { Profile } from './frame.js';
import { PROFILES } from './profile.js';

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const SPACE = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
// Up to 15 digits is always a safe integer, as integerAtLeast requires.
const MAX_DIGITS = 15;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
// Bit i of `seen` marks key i; KEYS[i] are the fields checkE2ee reads, plus `schema`,
// which makes the daemon parser read the frame as a session event.
const KEYS = ['type', 'version', 'profile', 'sessionId', 'epoch', 'seq', 'iv', 'tag', 'ciphertext', 'schema'].map(enc);
const [TYPE, VERSION, PROFILE, SESSION_ID, EPOCH, SEQ, IV, TAG, CIPHERTEXT, SCHEMA] = KEYS.map((_, i) => i);
const REQUIRED = (1 << SCHEMA) - 1;
const E2EE = enc('e2ee');
// The known profiles as bytes, so a profile is matched without decoding it.
const PROFILE_BYTES = PROFILES.map((p) => [enc(p), p] as const);

function profileAt(buf: Uint8Array, start: number, end: number): Profile | undefined {
  for (const [bytes, profile] of PROFILE_BYTES) if (bytes.length === end - start && bytesEqual(buf, start, bytes)) return profile;
  return undefined;
}

// keyIndex tries `expected` first: senders write an envelope's keys in one order,
// so after key i the next is nearly always key i + 1.
function keyIndex(buf: Uint8Array, start: number, end: number, expected: number): number {
  const len = end - start;
  const likely = KEYS[expected];
  if (likely !== undefined && likely.length === len && bytesEqual(buf, start, likely)) return expected;
  for (let k = 0; k < KEYS.length; k++) {
    const key = KEYS[k] as Uint8Array;
    if (key.length === len && bytesEqual(buf, start, key)) return k;
  }
  return -1;
}

function bytesEqual(buf: Uint8Array, start: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}

/**
 * scanE2ee returns the routing view of an e2ee envelope written as a flat
 * JSON object without whitespace or escapes, with every field checkE2ee
 * requires valid; otherwise undefined (run the full parser). When it returns
 * a view, the full parser accepts the frame with an equal view.
 * One straight-line function on purpose: it runs on every frame, and its
 * cursor and fields stay in locals instead of crossing calls.
 */
export function scanE2ee(buf: Buffer): E2eeView | undefined {
  const n = buf.length;
  if (n < 2 || buf[0] !== OPEN || buf[n - 1] !== CLOSE) return undefined;
  if (hasControlByteOrBackslash(buf)) return undefined;
  let seen = 0;
  let version = 0;
  let sessionId = '';
  let profile: Profile | undefined;
  let epoch = 0;
  let seq = 0;
  let pos = 1;
  let previous = -1;
  for (;;) {
    // "key":
    if (buf[pos] !== QUOTE) return undefined;
    const keyEnd = buf.indexOf(QUOTE, pos + 1);
    if (keyEnd === -1 || buf[keyEnd + 1] !== COLON) return undefined;
    const key = keyIndex(buf, pos + 1, keyEnd, previous + 1);
    previous = key;
    if (key !== -1) {
      if ((seen & (1 << key)) !== 0 || key === SCHEMA) return undefined;
      seen |= 1 << key;
    }
    pos = keyEnd + 2;
    let valueEnd: number;
    const first = buf[pos] as number;
    if (first === QUOTE) {
      const strEnd = buf.indexOf(QUOTE, pos + 1);
      if (strEnd === -1) return undefined;
      const start = pos + 1;
      valueEnd = strEnd + 1;
      switch (key) {
        case TYPE:
          if (strEnd - start !== E2EE.length || !bytesEqual(buf, start, E2EE)) return undefined;
          break;
        case PROFILE:
          profile = profileAt(buf, start, strEnd);
          if (profile === undefined) return undefined;
          break;
        case SESSION_ID:
          sessionId = buf.toString('utf8', start, strEnd).trim();
          if (sessionId.length === 0) return undefined;
          break;
        case IV:
        case TAG:
        case CIPHERTEXT:
          // Non-empty after trim: a printable ASCII first byte settles it without decoding.
          if (strEnd === start || !((buf[start] as number) > SPACE && (buf[start] as number) < 0x7f)) return undefined;
          break;
        case -1:
          break;
        default:
          return undefined; // version, epoch, seq must be numbers
      }
    } else if (first >= ZERO && first <= NINE) {
      let end = pos;
      let value = 0;
      while (end < n && (buf[end] as number) >= ZERO && (buf[end] as number) <= NINE) value = value * 10 + ((buf[end++] as number) - ZERO);
      // No leading zero (invalid JSON) and no fraction or exponent (left to the full parser).
      if ((first === ZERO && end - pos > 1) || end - pos > MAX_DIGITS) return undefined;
      valueEnd = end;
      switch (key) {
        case VERSION:
          version = value;
          if (version !== 2) return undefined;
          break;
        case EPOCH:
          epoch = value;
          break;
        case SEQ:
          seq = value;
          break;
        case -1:
          break;
        default:
          return undefined;
      }
    } else return undefined;
    const next = buf[valueEnd];
    if (next === COMMA) pos = valueEnd + 1;
    else if (next === CLOSE && valueEnd === n - 1) break;
    else return undefined;
  }
  if (seen !== REQUIRED || epoch < 1 || seq < 1 || profile === undefined) return undefined;
  return { kind: 'e2ee', profile, sessionId, version };
}
