import { describe, expect, it } from 'vitest';
import { e2eeEnvelope, kexInit, kexResponse, SEQ_BASE, seqOffset, sessionIdOf, writeSeq } from './envelopes.js';

describe('e2eeEnvelope', () => {
  it.each([256, 1000, 16384])('is exactly %i bytes of a valid e2ee v2 envelope', (size) => {
    const text = e2eeEnvelope('s-client-1', 7, size);
    expect(Buffer.byteLength(text)).toBe(size);
    const frame = JSON.parse(text) as Record<string, unknown>;
    expect(frame).toMatchObject({ type: 'e2ee', version: 2, profile: 'noise-ik', sessionId: 's-client-1', epoch: 1, seq: 7 });
    for (const key of ['iv', 'tag', 'ciphertext']) expect(String(frame[key]).length).toBeGreaterThan(0);
  });

  it('refuses a size too small for its fields', () => {
    expect(() => e2eeEnvelope('s-1', 1, 64)).toThrow(/too small/);
  });
});

describe('key exchange frames', () => {
  it('carry the fields the relay requires (docs/protocol.md#frames-client, docs/protocol.md#frames-daemon)', () => {
    expect(JSON.parse(kexInit('req-1'))).toMatchObject({ type: 'relay_key_exchange_init', version: 3, requestId: 'req-1' });
    expect(JSON.parse(kexResponse('req-1', 's-1'))).toMatchObject({ type: 'relay_key_exchange_response', version: 3, requestId: 'req-1', sessionId: 's-1', epoch: 1 });
  });
});

describe('sessionIdOf', () => {
  it('finds the session without parsing', () => {
    expect(sessionIdOf(Buffer.from(e2eeEnvelope('s-abc', 1, 256)))).toBe('s-abc');
  });

  it.each([
    ['no sessionId key', '{"type":"e2ee"}'],
    ['an unterminated value', '{"sessionId":"s-abc'],
  ])('is undefined for %s', (_name, text) => {
    expect(sessionIdOf(Buffer.from(text))).toBeUndefined();
  });
});

describe('writeSeq', () => {
  it('rewrites the seq in place, keeping the length and the JSON valid', () => {
    const frame = Buffer.from(e2eeEnvelope('s-1', SEQ_BASE, 256));
    const at = seqOffset(frame);
    for (const n of [1, 42, 999_999_999]) {
      writeSeq(frame, at, n);
      expect(frame.length).toBe(256);
      expect((JSON.parse(frame.toString()) as { seq: number }).seq).toBe(SEQ_BASE + n);
    }
  });
});
