import { describe, expect, it } from 'vitest';
import { deriveBusSubkeys } from './keys.js';
import { createLossMarkerGuard, createLossMarkerSigner } from './loss-marker.js';

const key = deriveBusSubkeys('loss-marker-test-key-0123456789').lossMarker;
const START = 1_000_000;
const fields = { workspaceId: 'w', runtimeTargetId: 'r', sourceRelayId: 'a', targetRelayId: 'b', issuedAtMs: START + 5000 };

// A marker as the stream reader hands it over: the frame's fields, its stamp and the append time.
function entry(stamp: { bootId: string; seq: number; signature: string }, patch: Record<string, unknown> = {}) {
  return { ...fields, markerBootId: stamp.bootId, markerSeq: stamp.seq, markerSignature: stamp.signature, appendedAtMs: fields.issuedAtMs + 3, ...patch };
}

const guard = () => createLossMarkerGuard({ key, windowMs: 15_000, startedAtMs: START, startGraceMs: 1000, bootsMax: 2 });

describe('loss markers', () => {
  it('honours a fresh, authentic marker once: a replay of it is refused', () => {
    const g = guard();
    const stamp = createLossMarkerSigner(key, 'boot1')(fields);
    expect(g.check(entry(stamp), fields.issuedAtMs + 10)).toBeNull();
    expect(g.check(entry(stamp), fields.issuedAtMs + 20)).toBe('replayed');
  });

  it('refuses a marker appended long after it was signed (a replay from a capture), whenever it is read', () => {
    const stamp = createLossMarkerSigner(key, 'boot1')(fields);
    expect(guard().check(entry(stamp, { appendedAtMs: fields.issuedAtMs + 20_000 }), fields.issuedAtMs + 20_001)).toBe('stale');
    // Read late behind a backlog, but appended at once: honoured.
    expect(guard().check(entry(stamp), fields.issuedAtMs + 60_000)).toBeNull();
  });

  it('refuses after a restart a marker signed before this relay started, though within the window', () => {
    const early = { ...fields, issuedAtMs: START - 2000 };
    const stamp = createLossMarkerSigner(key, 'boot1')(early);
    expect(guard().check({ ...entry(stamp), issuedAtMs: early.issuedAtMs, appendedAtMs: START + 10 }, START + 20)).toBe('before_start');
  });

  it('refuses unsigned, badly signed, re-addressed and re-scoped markers', () => {
    const stamp = createLossMarkerSigner(key, 'boot1')(fields);
    const g = guard();
    expect(g.check({ ...fields }, START)).toBe('unsigned');
    expect(g.check(entry({ ...stamp, signature: stamp.signature.slice(1) }), START + 5010)).toBe('invalid_signature');
    expect(g.check(entry(stamp, { targetRelayId: 'c' }), START + 5010)).toBe('invalid_signature');
    expect(g.check(entry(stamp, { workspaceId: 'w2' }), START + 5010)).toBe('invalid_signature');
    expect(g.check(entry(createLossMarkerSigner(deriveBusSubkeys('another-key-0123456789').lossMarker, 'boot1')(fields)), START + 5010)).toBe('invalid_signature');
    // The frame signing key itself does not sign markers (domain separation).
    expect(g.check(entry(createLossMarkerSigner(deriveBusSubkeys('loss-marker-test-key-0123456789').busEntry, 'boot1')(fields)), START + 5010)).toBe('invalid_signature');
  });

  it('keeps per-boot sequences in bounded memory without ever admitting a replay', () => {
    const g = guard();
    const sign = (boot: string, at: number) => {
      const f = { ...fields, issuedAtMs: at };
      return { ...entry(createLossMarkerSigner(key, boot)(f)), issuedAtMs: at, appendedAtMs: at };
    };
    const first = sign('boot1', START + 100);
    expect(g.check(first, START + 200)).toBeNull();
    expect(g.check(sign('boot2', START + 300), START + 400)).toBeNull();
    expect(g.check(sign('boot3', START + 500), START + 600)).toBeNull(); // boot1 forgotten, its time is a floor
    expect(g.check(first, START + 700)).toBe('replayed');
  });
});
