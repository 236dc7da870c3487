// The e2ee fast path must never change a verdict: for any input it either
// defers (undefined) or returns exactly the view the full parsers return.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { controlByteKernelLoaded, hasControlByteOrBackslash, hasControlByteOrBackslashPortable } from './control-bytes.js';
import { scanE2ee } from './e2ee-scan.js';
import { parseClientFrame } from './parse-client.js';
import { parseDaemonFrame } from './parse-daemon.js';

const ENVELOPE = {
  type: 'e2ee',
  version: 2,
  profile: 'noise-ik',
  sessionId: 'sess-1',
  epoch: 1,
  seq: 7,
  iv: 'aXY=',
  tag: 'dGFn',
  ciphertext: 'Y2lwaGVy',
};

/** agrees checks scanE2ee against both full parsers and reports whether the fast path took the frame. */
function agrees(buf: Buffer): boolean {
  const fast = scanE2ee(buf);
  if (fast === undefined) return false;
  const text = buf.toString('utf8');
  expect(parseClientFrame(text)).toEqual({ ok: true, frame: fast });
  expect(parseDaemonFrame(text)).toEqual({ ok: true, frame: fast });
  return true;
}

const bytesOf = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('scanE2ee', () => {
  it.each([
    ['the canonical envelope', ENVELOPE],
    ['fields in another order', { ciphertext: 'x', seq: 1, tag: 't', iv: 'i', epoch: 3, sessionId: 's', profile: 'noise-ikpsk2', version: 2, type: 'e2ee' }],
    ['extra fields', { ...ENVELOPE, extra: 'x', n: 12 }],
    ['a sessionId padded with spaces (trimmed)', { ...ENVELOPE, sessionId: '  s-2 ' }],
    ['the largest safe epoch and seq', { ...ENVELOPE, epoch: 999_999_999_999_999, seq: 1 }],
    ['a non-ASCII sessionId', { ...ENVELOPE, sessionId: 'séance-✓' }],
    ['a 64 KiB ciphertext', { ...ENVELOPE, ciphertext: 'A'.repeat(65536) }],
  ])('takes %s, agreeing with the full parsers', (_name, frame) => {
    expect(agrees(bytesOf(frame))).toBe(true);
  });

  it.each([
    ['whitespace between tokens', JSON.stringify(ENVELOPE, null, 1)],
    ['an escape in any string', { ...ENVELOPE, ciphertext: 'a\\b' }],
    ['a control character in a string', { ...ENVELOPE, iv: 'a\tb' }],
    ['a fractional epoch', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1.0,"seq":1,"iv":"a","tag":"b","ciphertext":"c"}'],
    ['an exponent', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1e999,"seq":1,"iv":"a","tag":"b","ciphertext":"c"}'],
    ['a leading zero', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":01,"seq":1,"iv":"a","tag":"b","ciphertext":"c"}'],
    ['a repeated key', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1,"seq":1,"iv":"a","tag":"b","ciphertext":"c","seq":0}'],
    ['a schema key', { ...ENVELOPE, schema: 'x' }],
    ['a nested extra field', { ...ENVELOPE, extra: { a: 1 } }],
    ['an empty ciphertext', { ...ENVELOPE, ciphertext: '' }],
    ['a blank tag', { ...ENVELOPE, tag: ' ' }],
    ['a blank sessionId', { ...ENVELOPE, sessionId: '  ' }],
    ['epoch 0', { ...ENVELOPE, epoch: 0 }],
    ['a 16-digit seq', { ...ENVELOPE, seq: 1_000_000_000_000_000 }],
    ['version 3', { ...ENVELOPE, version: 3 }],
    ['version as a string', { ...ENVELOPE, version: '2' }],
    ['another type', { ...ENVELOPE, type: 'E2EE' }],
    ['a missing field', { ...ENVELOPE, iv: undefined }],
    ['trailing bytes', JSON.stringify(ENVELOPE) + ' '],
    ['a trailing comma', JSON.stringify(ENVELOPE).replace(/}$/, ',}')],
    ['an array', [ENVELOPE]],
  ])('defers %s to the full parser', (_name, frame) => {
    expect(scanE2ee(bytesOf(frame))).toBeUndefined();
  });

  const value = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.constantFrom('', ' ', '\t', '\\', '"', 'é', '\u00a0x', 'noise-ik', 'noise-ikpsk2', 'e2ee'),
    fc.integer({ min: -5, max: 20 }),
    fc.constantFrom(0, 1, 2, 2 ** 53, 2 ** 53 + 2, 1.5, null, true, [], {}),
  );
  const keys = fc.constantFrom(...Object.keys(ENVELOPE), 'schema', 'extra', '__proto__', '');

  it('agrees with the full parsers on mutated envelopes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keys, value), { maxLength: 4 }), fc.array(fc.constantFrom(...Object.keys(ENVELOPE)), { maxLength: 2 }), (edits, drops) => {
        const entries: [string, unknown][] = Object.entries(ENVELOPE).filter(([k]) => !drops.includes(k));
        for (const [k, v] of edits) entries.push([k, v]);
        // Built by hand so repeated keys survive into the text.
        const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
        agrees(Buffer.from(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the full parsers on arbitrary bytes spliced into an envelope', () => {
    const text = JSON.stringify(ENVELOPE);
    fc.assert(
      fc.property(fc.nat(text.length), fc.nat(4), fc.uint8Array({ maxLength: 4 }), (at, cut, insert) => {
        const base = Buffer.from(text);
        agrees(Buffer.concat([base.subarray(0, at), Buffer.from(insert), base.subarray(Math.min(base.length, at + cut))]));
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['the JavaScript loop', hasControlByteOrBackslashPortable, 40],
    ['the entry point (WebAssembly kernel from 1 KiB)', hasControlByteOrBackslash, 1100],
  ])('%s finds control bytes and backslashes at any offset and alignment', (_name, has, maxLen) => {
    const backing = Buffer.alloc(maxLen + 8, 0x41);
    for (let offset = 0; offset < 4; offset++) {
      for (const len of [0, 1, 3, 4, 5, 15, 16, 17, 31, 33, 39, 1023, 1024, 1025, 1040, 1087, 1088, 1089, 1100].filter((l) => l <= maxLen)) {
        const view = backing.subarray(offset, offset + len);
        expect(has(view)).toBe(false);
        for (let i = 0; i < len; i += len > 64 ? 7 : 1) {
          for (const b of [0x00, 0x1f, 0x5c]) {
            view[i] = b;
            expect(has(view)).toBe(true);
            view[i] = 0x41;
          }
          for (const b of [0x20, 0x5b, 0x5d, 0x7f, 0x80, 0xdc, 0xff]) {
            view[i] = b;
            expect(has(view)).toBe(false);
            view[i] = 0x41;
          }
        }
        if (len > 0) {
          for (const b of [0x0a, 0x5c]) {
            view[len - 1] = b; // the last byte, however the length falls on the kernel's 64-byte steps
            expect(has(view)).toBe(true);
            view[len - 1] = 0x41;
          }
        }
      }
    }
  });

  it('uses the WebAssembly kernel on this runtime (Node 22 has SIMD)', () => {
    expect(controlByteKernelLoaded).toBe(true);
  });

  it('the kernel grows its memory for a frame larger than one page', () => {
    const big = Buffer.alloc(200_000, 0x41);
    expect(hasControlByteOrBackslash(big)).toBe(false);
    big[199_999] = 0x09;
    expect(hasControlByteOrBackslash(big)).toBe(true);
    big[199_999] = 0x5c;
    expect(hasControlByteOrBackslash(big)).toBe(true);
  });
});
