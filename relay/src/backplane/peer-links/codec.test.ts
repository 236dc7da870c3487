// The peer-link message codec on its own (pure): frames round-trip, hand-built
// and malformed messages decode as documented, acks too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base, rawMessage, SOURCE, TARGET } from '../../../test/backplane/peer-link-harness.js';
import type { BusFrame } from '../../bus/types.js';
import { decodeAck, decodeLinkFrame, encodeAck, encodeLinkFrame } from './codec.js';
import { TAG_BYTES } from './link-mac.js';

/**
 * decoded reads a link message and checks that the frame's payloadBytes are
 * its payload's UTF-8 (what the receiving hub forwards); returns the frame
 * without them, to compare with what was sent.
 */
function decoded(data: Buffer, sourceRelayId: string): BusFrame | null {
  const frame = decodeLinkFrame(data, sourceRelayId);
  if (frame === null) return null;
  const { payloadBytes, ...rest } = frame;
  expect(payloadBytes?.equals(Buffer.from(frame.payload, 'utf8'))).toBe(true);
  return rest;
}

describe('link frame codec', () => {
  it.each<[string, BusFrame]>([
    ['a client frame without machineId or issuedAtMs', base],
    ['a daemon frame with machineId and issuedAtMs', { ...base, direction: 'daemon_to_clients', machineId: 'm-1', issuedAtMs: 1_700_000_000_123 }],
    ['an empty machineId', { ...base, machineId: '' }],
    ['an empty payload', { ...base, payload: '' }],
    ['non-ASCII ids and payload', { ...base, workspaceId: 'wé_日本', runtimeTargetId: 'rt-🚀', machineId: '机器', targetRelayId: 'relay-ü', payload: '{"text":"héllo 🌍 — ✓"}' }],
    ['issuedAtMs of zero', { ...base, issuedAtMs: 0 }],
    ['a payload of 100 kB', { ...base, payload: 'é'.repeat(50_000) }],
  ])('round-trips %s', (_name, frame) => {
    expect(decoded(encodeLinkFrame(frame), frame.sourceRelayId)).toStrictEqual(frame);
  });

  it('writes a frame that carries its payload as bytes exactly as one that carries only the text', () => {
    for (const payload of ['', '{"type":"e2ee","ciphertext":"AAAA"}', '{"text":"héllo 🌍"}', 'A'.repeat(20_000)]) {
      const frame = { ...base, machineId: 'm-1', issuedAtMs: 7, payload };
      expect(encodeLinkFrame({ ...frame, payloadBytes: Buffer.from(payload, 'utf8') })).toStrictEqual(encodeLinkFrame(frame));
    }
  });

  it('hands the payload bytes over as they arrived', () => {
    const data = encodeLinkFrame({ ...base, payload: '{"n":1}' });
    const frame = decodeLinkFrame(data, SOURCE);
    expect(frame?.payloadBytes?.toString('utf8')).toBe('{"n":1}');
    // A view of the message, not a copy.
    expect(frame?.payloadBytes?.buffer).toBe(data.buffer);
  });

  it('takes the source from the link, never from the frame', () => {
    const decoded = decodeLinkFrame(encodeLinkFrame({ ...base, sourceRelayId: 'relay-claimed' }), 'relay-linked');
    expect(decoded?.sourceRelayId).toBe('relay-linked');
  });

  it('sends a null target as the empty target (which bus checks treat as null)', () => {
    expect(decodeLinkFrame(encodeLinkFrame({ ...base, targetRelayId: null }), SOURCE)?.targetRelayId).toBe('');
  });

  it('refuses a field too long for its 2-byte length', () => {
    expect(() => encodeLinkFrame({ ...base, workspaceId: 'w'.repeat(0xffff) })).toThrow(RangeError);
    expect(decodeLinkFrame(encodeLinkFrame({ ...base, workspaceId: 'w'.repeat(0xfffe) }), SOURCE)?.workspaceId).toHaveLength(0xfffe);
  });

  it('round-trips any frame (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    const frames = fc.record(
      {
        workspaceId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        runtimeTargetId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        machineId: text,
        sourceRelayId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        targetRelayId: text,
        direction: fc.constantFrom('client_to_daemon' as const, 'daemon_to_clients' as const),
        payload: fc.string({ unit: 'grapheme', maxLength: 400 }),
        issuedAtMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      },
      { requiredKeys: ['workspaceId', 'runtimeTargetId', 'sourceRelayId', 'targetRelayId', 'direction', 'payload'] },
    );
    fc.assert(
      fc.property(frames, (generated) => {
        // fast-check builds records without a prototype; a plain copy compares strictly with the decoded object.
        const frame: BusFrame = { ...generated };
        expect(decoded(encodeLinkFrame(frame), frame.sourceRelayId)).toStrictEqual(frame);
      }),
    );
  });

  it('reads a hand-built message (the documented layout)', () => {
    const data = rawMessage({ direction: 1, issuedAtMs: 42, heads: ['w', 'r', 'm', 't'], payload: 'p' });
    expect(decoded(data, 's')).toStrictEqual({
      workspaceId: 'w',
      runtimeTargetId: 'r',
      machineId: 'm',
      sourceRelayId: 's',
      targetRelayId: 't',
      direction: 'daemon_to_clients',
      payload: 'p',
      issuedAtMs: 42,
    });
    expect(decoded(rawMessage({ heads: ['w', 'r', null, 't'], payload: '' }), 's')).toStrictEqual({
      workspaceId: 'w',
      runtimeTargetId: 'r',
      sourceRelayId: 's',
      targetRelayId: 't',
      direction: 'client_to_daemon',
      payload: '',
    });
  });

  it('returns null for every truncation inside the fields (the tag kept at the end)', () => {
    const data = encodeLinkFrame({ ...base, machineId: 'm-1', payload: 'payload' });
    const tagged = (length: number) => Buffer.concat([data.subarray(0, length), Buffer.alloc(TAG_BYTES)]);
    const fieldsEnd = data.length - TAG_BYTES - 'payload'.length;
    for (let length = 0; length < fieldsEnd; length++) {
      expect(decodeLinkFrame(tagged(length), SOURCE), `truncated to ${length} bytes`).toBeNull();
    }
    expect(decodeLinkFrame(tagged(fieldsEnd), SOURCE)?.payload).toBe('');
    // Without room for a tag, nothing decodes.
    expect(decodeLinkFrame(data.subarray(0, TAG_BYTES), SOURCE)).toBeNull();
  });

  it('leaves TAG_BYTES at the end for the tag, outside the payload', () => {
    const data = encodeLinkFrame({ ...base, payload: 'p' });
    data.fill(0xee, data.length - TAG_BYTES);
    expect(decodeLinkFrame(data, SOURCE)?.payload).toBe('p');
    expect(encodeAck(5)).toHaveLength(9 + TAG_BYTES);
  });

  it.each<[string, Buffer]>([
    ['an empty message', Buffer.alloc(0)],
    ['an ack', encodeAck(3)],
    ['a wrong type byte', rawMessage({ type: 9 })],
    ['the hello type byte', rawMessage({ type: 6 })],
    ['the version 1 hello type byte', rawMessage({ type: 3 })],
    ['an unknown direction byte', rawMessage({ direction: 2 })],
    ['direction 255', rawMessage({ direction: 255 })],
    ['an empty workspaceId', rawMessage({ heads: ['', 'rt_1', null, TARGET] })],
    ['an empty runtimeTargetId', rawMessage({ heads: ['ws_1', '', null, TARGET] })],
    ['an absent workspaceId', rawMessage({ heads: [null, 'rt_1', null, TARGET] })],
    ['an absent runtimeTargetId', rawMessage({ heads: ['ws_1', null, null, TARGET] })],
    ['a missing target', rawMessage({ heads: ['ws_1', 'rt_1', 'm-1', null] })],
  ])('returns null for %s', (_name, data) => {
    expect(decodeLinkFrame(data, SOURCE)).toBeNull();
  });

  it.each([0, 1, 2, 3])('returns null when field %i claims a length past the end', (field) => {
    const data = rawMessage({ heads: ['ws_1', 'rt_1', 'm-1', TARGET], payload: '' });
    let at = 10;
    for (let i = 0; i < field; i++) at += 2 + data.readUInt16BE(at);
    data.writeUInt16BE(data.length - TAG_BYTES - at - 2 + 1, at);
    expect(decodeLinkFrame(data, SOURCE)).toBeNull();
  });

  it('drops an absent (NaN) issuedAtMs', () => {
    expect(decodeLinkFrame(rawMessage({ issuedAtMs: Number.NaN }), SOURCE)).not.toHaveProperty('issuedAtMs');
  });
});

describe('ack codec', () => {
  it.each([0, 1, 4, 1023, 2 ** 40, Number.MAX_SAFE_INTEGER])('round-trips %i', (count) => {
    expect(decodeAck(encodeAck(count))).toBe(count);
  });

  it.each<[string, Buffer]>([
    ['an empty message', Buffer.alloc(0)],
    ['a short message', encodeAck(1).subarray(0, 8 + TAG_BYTES)],
    ['a long message', Buffer.concat([encodeAck(1), Buffer.from([0])])],
    ['a frame type byte', Buffer.from([1, ...encodeAck(1).subarray(1)])],
    ['a negative count', encodeAck(-1)],
    ['a fractional count', encodeAck(1.5)],
    ['NaN', encodeAck(Number.NaN)],
    ['infinity', encodeAck(Number.POSITIVE_INFINITY)],
    ['a count past the safe integers', encodeAck(2 ** 53)],
  ])('returns null for %s', (_name, data) => {
    expect(decodeAck(data)).toBeNull();
  });
});
