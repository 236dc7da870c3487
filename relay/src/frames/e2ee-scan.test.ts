// The e2ee fast path must never change a verdict: for any input it either
// defers (undefined) or returns exactly the view the full parsers return.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControlByte, scanE2ee } from './e2ee-scan.js';
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

  it('finds control bytes at any offset and alignment', () => {
    const backing = Buffer.alloc(80, 0x41);
    for (let offset = 0; offset < 4; offset++) {
      for (let len = 0; len < 40; len++) {
        const view = backing.subarray(offset, offset + len);
        expect(hasControlByte(view)).toBe(false);
        for (let i = 0; i < len; i++) {
          for (const b of [0x00, 0x1f]) {
            view[i] = b;
            expect(hasControlByte(view)).toBe(true);
            view[i] = 0x41;
          }
          view[i] = 0xff;
          expect(hasControlByte(view)).toBe(false);
          view[i] = 0x41;
        }
      }
    }
  });
});
