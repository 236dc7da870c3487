// Round trips between our initiator (ClientPeer) and responder (DaemonPeer):
// both profiles, v3 and v2, envelopes both ways, replay and reorder through
// the session layer, and rotation to epoch + 1.
import { describe, expect, it } from 'vitest';
import {
  ClientPeer,
  DaemonPeer,
  generateKeyPair,
  systemRandom,
  toBase64Url,
  type EnvelopeFrame,
  type KeyExchangeInitV2,
  type KeyExchangeInitV3,
  type Profile,
  type Result,
} from '../../src/e2ee/index.js';

const pairingSecret = systemRandom(32);

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

function setup(profile: Profile, version: 2 | 3, rotateAfterMessages = 250) {
  let now = 1_000;
  const daemon = new DaemonPeer({
    identity: generateKeyPair(systemRandom),
    pairingSecrets: new Map([['peer-1', pairingSecret]]),
    rotateAfterMessages,
    random: systemRandom,
    now: () => now,
  });
  const client = new ClientPeer({
    profile,
    version,
    clientStatic: generateKeyPair(systemRandom),
    daemonPublicKeyText: daemon.identityText(),
    random: systemRandom,
    ...(profile === 'noise-ikpsk2' ? { pairingSecret, pairingPeerId: 'peer-1' } : {}),
  });
  const handshake = (init: KeyExchangeInitV2 | KeyExchangeInitV3) => {
    const answered = unwrap(daemon.handleInit(init));
    return unwrap(client.handleResponse(answered.response)).session;
  };
  return { daemon, client, handshake, advance: (ms: number) => (now += ms) };
}

describe.each([
  ['noise-ik', 3],
  ['noise-ikpsk2', 3],
  ['noise-ik', 2],
  ['noise-ikpsk2', 2],
] as const)('%s over key exchange v%i', (profile, version) => {
  it('both sides derive the same key and exchange envelopes both ways', () => {
    const { daemon, client, handshake } = setup(profile, version);
    const session = handshake(unwrap(client.startHandshake()).frame);
    expect(session.keys.epoch).toBe(1);
    expect(session.keys.sessionId).toMatch(/^rs_[0-9a-f]{24}$/);
    const daemonSide = daemon.session(session.keys.sessionId)!;
    expect(toBase64Url(daemonSide.keys.key)).toBe(toBase64Url(session.keys.key));

    for (const text of ['{"type":"ping"}', 'héllo wörld ✓', 'x'.repeat(5000)]) {
      const up = unwrap(client.seal(text)).frame;
      expect(unwrap(daemon.open(up)).plaintext).toBe(text);
      const down = unwrap(daemon.seal(session.keys.sessionId, text)).frame;
      expect(unwrap(client.open(down)).plaintext).toBe(text);
    }
    expect(session.txSeq).toBe(3);
  });

  it('drops replays and accepts reordering through the session', () => {
    const { daemon, client, handshake } = setup(profile, version);
    handshake(unwrap(client.startHandshake()).frame);
    const frames = [1, 2, 3].map((i) => unwrap(client.seal(`m${i}`)).frame);
    expect(unwrap(daemon.open(frames[2]!)).plaintext).toBe('m3');
    expect(unwrap(daemon.open(frames[0]!)).plaintext).toBe('m1');
    const replay = daemon.open(frames[0]!);
    expect(replay.ok ? 'ok' : replay.error.code).toBe('seq_replayed');
    expect(unwrap(daemon.open(frames[1]!)).plaintext).toBe('m2');
  });

  it('a forged envelope does not burn the genuine seq', () => {
    const { daemon, client, handshake } = setup(profile, version);
    handshake(unwrap(client.startHandshake()).frame);
    const genuine = unwrap(client.seal('real')).frame;
    const forged: EnvelopeFrame = { ...genuine, ciphertext: toBase64Url(new Uint8Array(4).fill(1)) };
    const refused = daemon.open(forged);
    expect(refused.ok ? 'ok' : refused.error.code).toBe('decrypt_failed');
    expect(unwrap(daemon.open(genuine)).plaintext).toBe('real');
  });

  it('rotates to epoch + 1 after the threshold with a new sessionId, restarting seqs', () => {
    const { daemon, client, handshake } = setup(profile, version, 3);
    const first = handshake(unwrap(client.startHandshake()).frame);
    const oldId = first.keys.sessionId;
    const sealed = [1, 2, 3].map((i) => unwrap(daemon.seal(oldId, `d${i}`)));
    expect(sealed.slice(0, 2).every((s) => s.keyUpdate === undefined)).toBe(true);
    const update = sealed[2]!.keyUpdate!;
    expect(update).toEqual({ type: 'relay_key_update_required', sessionId: oldId, nextEpoch: 2, reason: 'message_threshold' });
    // Sent once per session, not repeated.
    expect(unwrap(daemon.seal(oldId, 'd4')).keyUpdate).toBeUndefined();

    const rekey = unwrap(client.handleKeyUpdate(update)).frame;
    expect(rekey.previousSessionId).toBe(oldId);
    const second = handshake(rekey);
    expect(second.keys.epoch).toBe(2);
    expect(second.keys.sessionId).not.toBe(oldId);
    expect(daemon.session(oldId)).toBeUndefined();

    // Late envelopes of the old session still open on the client.
    expect(unwrap(client.open(sealed[0]!.frame)).plaintext).toBe('d1');
    const up = unwrap(client.seal('after rotation')).frame;
    expect(up.epoch).toBe(2);
    expect(up.seq).toBe(1);
    expect(unwrap(daemon.open(up)).plaintext).toBe('after rotation');
  });

  it('refuses a re-key when no rotation is pending or the epoch is wrong', () => {
    const { daemon, client, handshake } = setup(profile, version);
    const first = handshake(unwrap(client.startHandshake()).frame);
    const premature = daemon.handleInit(unwrap(client.startHandshake(first.keys.sessionId)).frame);
    expect(premature.ok ? 'ok' : premature.error.code).toBe('rekey_not_admitted');
    const skip = client.handleKeyUpdate({ type: 'relay_key_update_required', sessionId: first.keys.sessionId, nextEpoch: 3 });
    expect(skip.ok ? 'ok' : skip.error.code).toBe('epoch_mismatch');
    const inbound = daemon.handleKeyUpdate({ type: 'relay_key_update_required', sessionId: first.keys.sessionId, nextEpoch: 2 });
    expect(inbound.ok).toBe(true);
    expect(daemon.session(first.keys.sessionId)!.rotationPending).toBe(true);
  });
});

describe('DaemonPeer admission', () => {
  it('refuses a weaker profile than required and accepts a stronger one', () => {
    const identity = generateKeyPair(systemRandom);
    const daemon = new DaemonPeer({
      identity,
      requiredProfile: 'noise-ikpsk2',
      pairingSecrets: new Map([['p', pairingSecret]]),
      random: systemRandom,
      now: () => 0,
    });
    const weak = new ClientPeer({ profile: 'noise-ik', clientStatic: generateKeyPair(systemRandom), daemonPublicKeyText: daemon.identityText(), random: systemRandom });
    const refused = daemon.handleInit(unwrap(weak.startHandshake()).frame);
    expect(refused.ok ? 'ok' : refused.error.code).toBe('profile_too_weak');
    const unknownPeer = new ClientPeer({ profile: 'noise-ikpsk2', clientStatic: generateKeyPair(systemRandom), daemonPublicKeyText: daemon.identityText(), pairingSecret, pairingPeerId: 'nobody', random: systemRandom });
    const noBinding = daemon.handleInit(unwrap(unknownPeer.startHandshake()).frame);
    expect(noBinding.ok ? 'ok' : noBinding.error.code).toBe('bad_pairing_secret');
  });

  it('keeps the session table bounded and drops idle sessions', () => {
    let now = 0;
    const daemon = new DaemonPeer({ identity: generateKeyPair(systemRandom), maxSessions: 2, idleTtlMs: 1000, random: systemRandom, now: () => now });
    const client = new ClientPeer({ profile: 'noise-ik', clientStatic: generateKeyPair(systemRandom), daemonPublicKeyText: daemon.identityText(), random: systemRandom });
    const ids = [0, 1, 2].map(() => unwrap(daemon.handleInit(unwrap(client.startHandshake()).frame)).session.keys.sessionId);
    expect(daemon.session(ids[0]!)).toBeUndefined();
    expect(daemon.session(ids[2]!)).toBeDefined();
    now = 5000;
    unwrap(daemon.handleInit(unwrap(client.startHandshake()).frame));
    expect(daemon.session(ids[2]!)).toBeUndefined();
  });
});
