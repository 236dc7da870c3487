// The shape pre-scan (docs/protocol.md#inbound-budget): JSON.parse of an array
// nested just under the frame limit costs the event loop hundreds of
// milliseconds, and a flat array of half a million numbers tens, while every
// other peer on the relay waits. No frame the relay understands nests deeper
// than a few levels or holds more than a few dozen values (a daemon's session
// event carries a JSON `event`, hence the margins), so a frame that opens more
// than MAX_FRAME_DEPTH arrays or objects at once, or separates more than
// MAX_FRAME_VALUES values, is refused before JSON.parse runs. The scan only
// refuses: what it lets through, the full parser still judges.
//
// Cost: most frames have too few brackets and commas to break either limit,
// which a handful of indexOf calls shows without reading the text byte by byte;
// only the others are walked, jumping over strings with indexOf and stopping
// as soon as a limit is crossed.

/** MAX_FRAME_DEPTH is the deepest nesting of arrays and objects a frame may have (the frame itself is depth 1). */
export const MAX_FRAME_DEPTH = 32;
/** MAX_FRAME_VALUES bounds the commas outside strings, i.e. roughly the values and members a frame holds. */
export const MAX_FRAME_VALUES = 10_000;

/** ShapeProblem is why the pre-scan refused a frame (a FrameRejectReason). */
export type ShapeProblem = 'too_deep' | 'too_wide';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * shapeProblem says whether text, read as JSON, nests more than maxDepth
 * arrays or objects at once or has more than maxValues commas, counting
 * neither inside strings. Malformed text (an unterminated string, unbalanced
 * brackets) is left to JSON.parse, which refuses it cheaply.
 */
export function shapeProblem(text: string, maxDepth = MAX_FRAME_DEPTH, maxValues = MAX_FRAME_VALUES): ShapeProblem | undefined {
  // Too few brackets to nest deeper, and too short (or too few commas) to be too wide: nothing to walk.
  const mayBeDeep = countUpTo(text, '{', maxDepth + 1) + countUpTo(text, '[', maxDepth + 1) > maxDepth;
  const mayBeWide = text.length > 2 * maxValues && countUpTo(text, ',', maxValues + 1) > maxValues;
  if (!mayBeDeep && !mayBeWide) return undefined;
  const n = text.length;
  let depth = 0;
  let commas = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i === -1) return undefined;
    } else if (c === COMMA) {
      if (++commas > maxValues) return 'too_wide';
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}

// countUpTo counts occurrences of ch in text, stopping at limit.
function countUpTo(text: string, ch: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(ch); at !== -1 && count < limit; at = text.indexOf(ch, at + 1)) count++;
  return count;
}

// stringEnd is the index of the quote that closes the string opened at `open`, or -1.
// A quote preceded by an odd run of backslashes is escaped; each run is read once,
// so the whole scan stays linear in the text's length.
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at === -1) return -1;
    let k = at - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((at - 1 - k) % 2 === 0) return at;
  }
}
