import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BusFrame } from './backplane.js';
import { checkInboundBusFrame } from './bus-frame.js';
import { busSigningString, computeBusSignature, createBusVerifier, signBusFrame } from './bus-signing.js';

const KEY = 'test-bus-key';
const NOW = 1_700_000_000_000;

const base: BusFrame = {
  workspaceId: 'ws_1',
  runtimeTargetId: 'rt_1',
  sourceRelayId: 'relay-a',
  targetRelayId: 'relay-b',
  direction: 'client_to_daemon',
  payload: '{"type":"e2ee"}',
};

function verifier(options: { seenMax?: number; now?: () => number; key?: string } = {}) {
  return createBusVerifier({ key: options.key ?? KEY, maxSkewMs: 15_000, seenMax: options.seenMax ?? 1000, now: options.now ?? (() => NOW) });
}

describe('bus signing', () => {
  it('matches the spec test vector', () => {
    expect(computeBusSignature({ ...base, issuedAtMs: NOW }, KEY)).toBe('KK_mnmHsOMxJ6CWbrXzxcMGcO6LBaD4C5rsIXeakEjA');
  });

  it.each([1023, 1024, 20_000])('signs a %i-character payload (fed to the HMAC apart from the head when long) as HMAC of the whole signing string', (chars) => {
    const frame: BusFrame = { ...base, machineId: 'm-1', issuedAtMs: NOW, payload: `{"type":"e2ee","ciphertext":"${'é'.repeat(chars - 31)}"}` };
    const whole = createHmac('sha256', Buffer.from(KEY, 'utf8')).update(busSigningString(frame), 'utf8').digest('base64url');
    expect(busSigningString(frame).endsWith(`\n${NOW}\n${frame.payload}`)).toBe(true);
    expect(computeBusSignature(frame, KEY)).toBe(whole);
    expect(verifier().verify({ ...frame, signature: whole })).toEqual({ ok: true });
  });

  it('signs with issuedAtMs and verifies', () => {
    const signed = signBusFrame(base, KEY, NOW);
    expect(signed.issuedAtMs).toBe(NOW);
    expect(signed.signature).toBe('KK_mnmHsOMxJ6CWbrXzxcMGcO6LBaD4C5rsIXeakEjA');
    expect(verifier().verify(signed)).toEqual({ ok: true });
  });

  it('leaves the payload bytes a relay holds out of the signed wire form', () => {
    const withBytes = signBusFrame({ ...base, payloadBytes: Buffer.from(base.payload, 'utf8') }, KEY, NOW);
    expect(withBytes).toStrictEqual(signBusFrame(base, KEY, NOW));
    expect(JSON.stringify(withBytes)).not.toContain('payloadBytes');
  });

  const signed = signBusFrame(base, KEY, NOW);
  const lastChar = signed.signature!.at(-1)!;
  // 32 bytes -> 43 chars; the last char carries 2 unused bits, so a neighbour decodes to the same bytes.
  const sameBytes = signed.signature!.slice(0, -1) + String.fromCharCode(lastChar.charCodeAt(0) ^ 1);

  it.each<[string, BusFrame, string]>([
    ['missing issuedAtMs', { ...signed, issuedAtMs: undefined }, 'invalid_signature'],
    ['missing signature', { ...signed, signature: undefined }, 'invalid_signature'],
    ['empty signature', { ...signed, signature: '' }, 'invalid_signature'],
    ['fractional issuedAtMs', { ...signed, issuedAtMs: NOW + 0.5 }, 'invalid_signature'],
    ['too old', signBusFrame(base, KEY, NOW - 15_001), 'stale_signature'],
    ['from the future', signBusFrame(base, KEY, NOW + 15_001), 'stale_signature'],
    ['tampered payload', { ...signed, payload: '{"type":"e2ee","x":1}' }, 'invalid_signature'],
    ['tampered target', { ...signed, targetRelayId: 'relay-c' }, 'invalid_signature'],
    ['wrong key', signBusFrame(base, 'other-key', NOW), 'invalid_signature'],
    ['non-canonical encoding', { ...signed, signature: sameBytes }, 'invalid_signature'],
    ['garbage signature', { ...signed, signature: '!!!' }, 'invalid_signature'],
  ])('rejects %s', (_name, frame, error) => {
    expect(verifier().verify(frame)).toEqual({ ok: false, error });
  });

  it('drops a replay but accepts out-of-order frames', () => {
    const v = verifier();
    const newer = signBusFrame({ ...base, payload: 'b' }, KEY, NOW);
    const older = signBusFrame({ ...base, payload: 'a' }, KEY, NOW - 5000);
    expect(v.verify(newer)).toEqual({ ok: true });
    expect(v.verify(older)).toEqual({ ok: true });
    expect(v.verify(newer)).toEqual({ ok: false, error: 'replayed_signature' });
    expect(v.verify(older)).toEqual({ ok: false, error: 'replayed_signature' });
  });

  it('forgets signatures once they leave the skew window', () => {
    let now = NOW;
    const v = verifier({ now: () => now });
    expect(v.verify(signBusFrame(base, KEY, NOW)).ok).toBe(true);
    now = NOW + 15_001;
    expect(v.verify(signBusFrame({ ...base, payload: 'later' }, KEY, now)).ok).toBe(true);
    expect(v.seenCount()).toBe(1);
  });

  it('stays bounded and never admits a replay of an evicted signature', () => {
    const v = verifier({ seenMax: 2 });
    const frames = [1, 2, 3].map((i) => signBusFrame({ ...base, payload: String(i) }, KEY, NOW - 10 + i));
    for (const frame of frames) expect(v.verify(frame).ok).toBe(true);
    expect(v.seenCount()).toBe(2);
    expect(v.verify(frames[0]!)).toEqual({ ok: false, error: 'replayed_signature' });
  });
});

describe('checkInboundBusFrame', () => {
  const policy = () => ({ selfRelayId: 'relay-b', maxFrameBytes: 64, verifier: verifier() });
  const signedFor = (patch: Partial<BusFrame>) => signBusFrame({ ...base, ...patch }, KEY, NOW);

  it.each<[string, unknown, string]>([
    ['not an object', 'hello', 'malformed'],
    ['null', null, 'malformed'],
    ['missing workspaceId', { ...signedFor({}), workspaceId: undefined }, 'malformed'],
    ['empty runtimeTargetId', { ...signedFor({}), runtimeTargetId: '' }, 'malformed'],
    ['unknown direction', { ...signedFor({}), direction: 'sideways' }, 'malformed'],
    ['payload not a string', { ...signedFor({}), payload: { type: 'e2ee' } }, 'malformed'],
    ['another target', signedFor({ targetRelayId: 'relay-c' }), 'misaddressed'],
    ['sent by this relay', signedFor({ sourceRelayId: 'relay-b' }), 'misaddressed'],
    ['oversized payload', signedFor({ payload: 'x'.repeat(65) }), 'frame_too_large'],
    ['unsigned', { ...base }, 'invalid_signature'],
  ])('drops %s', (_name, value, error) => {
    expect(checkInboundBusFrame(value, policy())).toEqual({ ok: false, error });
  });

  it.each<[string, string | null]>([
    ['this relay', 'relay-b'],
    ['no target (null)', null],
    ['no target ("")', ''],
  ])('accepts a frame addressed to %s, ignoring extra keys', (_name, targetRelayId) => {
    const frame = signedFor({ targetRelayId });
    const result = checkInboundBusFrame({ ...frame, id: 7 }, policy());
    expect(result).toEqual({ ok: true, frame });
  });
});
