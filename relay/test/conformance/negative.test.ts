// Negative conformance cases: every tampering the protocol names must be refused
// with a stable code (the random proof of docs/e2ee-protocol.md#vectors-v3, the
// list in docs/e2ee-protocol.md#conformance, and docs/e2ee-protocol.md#pitfalls).
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  finishHandshakeV3,
  finishKeyExchangeV2,
  openEnvelope,
  respondKeyExchangeV2,
  sealEnvelope,
  startHandshakeV3,
  startKeyExchangeV2,
  toBase64Url,
  type E2eeErrorCode,
  type EnvelopeFrame,
  type KeyExchangeInitV3,
  type KeyExchangeResponseV3,
  type Result,
} from '../../src/e2ee/index.js';
import { b64, keyPair, loadV2, loadV3, scriptedRandom, v3Replay } from './vectors.js';

const v3 = loadV3();
const v2 = loadV2();

function flipBit(text: string, byteIndex = 0): string {
  const bytes = b64(text);
  bytes[byteIndex]! ^= 0x01;
  return toBase64Url(bytes);
}

function compressed(publicKeyText: string): string {
  const point = p256.Point.fromBytes(b64(publicKeyText));
  return toBase64Url(point.toBytes(true));
}

function offCurve(publicKeyText: string): string {
  const bytes = b64(publicKeyText);
  bytes[64]! ^= 0x01; // change Y so the point leaves the curve
  return toBase64Url(bytes);
}

function expectCode(result: Result<object>, code: E2eeErrorCode): void {
  expect(result.ok ? 'accepted' : result.error.code).toBe(code);
}

const daemonStatic = keyPair(v3.daemonIdentity.privateKey);
const clientStatic = keyPair(v3.clientDeterministicKeys.staticPrivateKey);

function vectorRun(index: number, clientSecret?: Uint8Array) {
  const replay = v3Replay(v3, v3.vectors[index]!);
  const started = replay.start(clientSecret);
  if (!started.ok) throw new Error(started.error.message);
  const answered = replay.respond(started.frame);
  if (!answered.ok) throw new Error(answered.error.message);
  return { started, respond: replay.respond, response: answered.frame };
}

describe('v3 handshake negative cases', () => {
  const tamperings: [string, (r: KeyExchangeResponseV3) => KeyExchangeResponseV3, E2eeErrorCode][] = [
    ['random proof', (r) => ({ ...r, proof: toBase64Url(p256.utils.randomSecretKey()) }), 'proof_mismatch'],
    ['truncated proof', (r) => ({ ...r, proof: r.proof.slice(0, 22) }), 'proof_mismatch'],
    ['altered cleartext sessionId', (r) => ({ ...r, sessionId: `${r.sessionId}x` }), 'metadata_mismatch'],
    ['altered cleartext epoch', (r) => ({ ...r, epoch: r.epoch + 1 }), 'metadata_mismatch'],
    ['flipped metadata ciphertext bit', (r) => ({ ...r, encryptedMetadata: flipBit(r.encryptedMetadata) }), 'decrypt_failed'],
    ['flipped metadata tag bit', (r) => ({ ...r, encryptedMetadata: flipBit(r.encryptedMetadata, b64(r.encryptedMetadata).length - 1) }), 'decrypt_failed'],
    ['compressed daemon ephemeral key', (r) => ({ ...r, daemonEphemeralPublicKey: compressed(r.daemonEphemeralPublicKey) }), 'compressed_public_key'],
    ['off-curve daemon ephemeral key', (r) => ({ ...r, daemonEphemeralPublicKey: offCurve(r.daemonEphemeralPublicKey) }), 'off_curve_public_key'],
    ['other requestId', (r) => ({ ...r, requestId: 'kex-someone-else' }), 'request_id_mismatch'],
    ['other profile', (r) => ({ ...r, profile: r.profile === 'noise-ik' ? 'noise-ikpsk2' : 'noise-ik' }), 'profile_mismatch'],
  ];

  it.each(v3.vectors.flatMap((_, i) => tamperings.map(([name, edit, code]) => [v3.vectors[i]!.id, name, i, edit, code] as const)))(
    '%s: client refuses a response with %s',
    (_id, _name, index, edit, code) => {
      const { started, response } = vectorRun(index);
      expectCode(finishHandshakeV3(started.pending, edit(response)), code);
      // The untouched response still finishes: a rejected response does not consume the pending state.
      expect(finishHandshakeV3(started.pending, response).ok).toBe(true);
    },
  );

  it.each([
    ['flipped encryptedClientStatic bit', (i: KeyExchangeInitV3) => ({ ...i, encryptedClientStatic: flipBit(i.encryptedClientStatic, 10) }), 'decrypt_failed'],
    ['short encryptedClientStatic', (i: KeyExchangeInitV3) => ({ ...i, encryptedClientStatic: toBase64Url(b64(i.encryptedClientStatic).subarray(0, 12)) }), 'decrypt_failed'],
    ['compressed client ephemeral key', (i: KeyExchangeInitV3) => ({ ...i, clientEphemeralPublicKey: compressed(i.clientEphemeralPublicKey) }), 'compressed_public_key'],
    ['off-curve client ephemeral key', (i: KeyExchangeInitV3) => ({ ...i, clientEphemeralPublicKey: offCurve(i.clientEphemeralPublicKey) }), 'off_curve_public_key'],
    ['non-base64url ephemeral key', (i: KeyExchangeInitV3) => ({ ...i, clientEphemeralPublicKey: `${i.clientEphemeralPublicKey.slice(1)}+` }), 'bad_base64url'],
  ] as const)('daemon refuses an init with %s', (_name, edit, code) => {
    const { started, respond } = vectorRun(0);
    expectCode(respond(edit(started.frame)), code);
  });

  it('a client with the wrong pairing secret fails on the metadata tag (psk is mixed only in message 2)', () => {
    const wrong = new Uint8Array(32).fill(7);
    const { started, response } = vectorRun(1, wrong);
    // Message 1 is identical whatever the secret: the PSK is not used there.
    expect(started.frame.encryptedClientStatic).toBe(v3.vectors[1]!.init.encryptedClientStatic);
    expectCode(finishHandshakeV3(started.pending, response), 'decrypt_failed');
  });

  it('refuses to start noise-ikpsk2 without a 32-byte secret or a pairingPeerId', () => {
    const base = {
      profile: 'noise-ikpsk2' as const,
      requestId: 'kex-1',
      clientStatic,
      daemonStaticPublicKey: daemonStatic.publicKey,
      random: scriptedRandom(),
    };
    expectCode(startHandshakeV3({ ...base, pairingPeerId: 'peer' }), 'bad_pairing_secret');
    expectCode(startHandshakeV3({ ...base, pairingPeerId: 'peer', pairingSecret: new Uint8Array(31) }), 'bad_pairing_secret');
    expectCode(startHandshakeV3({ ...base, pairingSecret: new Uint8Array(32), pairingPeerId: '  ' }), 'missing_pairing_peer_id');
  });

  it('refuses a compressed daemon static key before doing any work', () => {
    const point = p256.Point.fromBytes(daemonStatic.publicKey);
    expectCode(
      startHandshakeV3({
        profile: 'noise-ik',
        requestId: 'kex-1',
        clientStatic,
        daemonStaticPublicKey: point.toBytes(true),
        random: scriptedRandom(),
      }),
      'compressed_public_key',
    );
  });
});

describe('v2 key exchange negative cases', () => {
  const v = v2.vectors[1]!; // ikpsk2-basic: exercises the PSK and previousSessionId
  const client = keyPair(v.clientPrivateKey);
  const daemon = keyPair(v.daemonPrivateKey);
  const secret = b64(v.pairingSecret!);

  function start() {
    const started = startKeyExchangeV2({
      profile: v.profile,
      requestId: v.requestId,
      clientKey: client,
      daemonPublicKeyText: v.daemonPublicKey,
      pairingSecret: secret,
      pairingPeerId: 'peer',
      previousSessionId: v.previousSessionId!,
      random: scriptedRandom(b64(v.clientNonce)),
    });
    if (!started.ok) throw new Error(started.error.message);
    return started;
  }
  const respond = (init: Parameters<typeof respondKeyExchangeV2>[0], pairingSecret = secret) =>
    respondKeyExchangeV2(init, {
      daemonStatic: daemon,
      sessionId: v.sessionId,
      epoch: v.epoch,
      pairingSecret,
      random: scriptedRandom(b64(v.daemonNonce)),
    });

  it('daemon refuses a flipped clientProof bit', () => {
    const { frame } = start();
    expectCode(respond({ ...frame, clientProof: flipBit(frame.clientProof) }), 'client_proof_mismatch');
  });

  it('daemon refuses a changed previousSessionId (bound into the client proof)', () => {
    const { frame } = start();
    expectCode(respond({ ...frame, previousSessionId: 'rs_other' }), 'client_proof_mismatch');
  });

  it('daemon refuses a wrong pairing secret', () => {
    const { frame } = start();
    expectCode(respond(frame, new Uint8Array(32).fill(9)), 'client_proof_mismatch');
  });

  it('daemon refuses a compressed client key', () => {
    const { frame } = start();
    expectCode(respond({ ...frame, clientPublicKey: compressed(frame.clientPublicKey) }), 'compressed_public_key');
  });

  it('client refuses a flipped daemon proof bit and a short daemon nonce', () => {
    const started = start();
    const answered = respond(started.frame);
    if (!answered.ok) throw new Error(answered.error.message);
    expectCode(finishKeyExchangeV2(started.pending, { ...answered.frame, proof: flipBit(answered.frame.proof) }), 'proof_mismatch');
    expectCode(finishKeyExchangeV2(started.pending, { ...answered.frame, daemonNonce: 'AAECAwQFBgcICQoL' }), 'bad_nonce');
    expect(finishKeyExchangeV2(started.pending, answered.frame).ok).toBe(true);
  });
});

describe('envelope negative cases', () => {
  const key = b64(v3.vectors[0]!.sessionKey);
  const header = { profile: 'noise-ik' as const, sessionId: 'rs_v3_ik_001', epoch: 1, seq: 1 };
  const sealed = sealEnvelope(key, header, '{"type":"ping"}', scriptedRandom(b64('AAECAwQFBgcICQoL')));
  if (!sealed.ok) throw new Error(sealed.error.message);
  const frame = sealed.frame;

  it.each<[string, EnvelopeFrame, E2eeErrorCode]>([
    ['a flipped ciphertext bit', { ...frame, ciphertext: flipBit(frame.ciphertext) }, 'decrypt_failed'],
    ['a flipped tag bit', { ...frame, tag: flipBit(frame.tag) }, 'decrypt_failed'],
    ['a 12-byte (short) tag', { ...frame, tag: toBase64Url(b64(frame.tag).subarray(0, 12)) }, 'bad_tag'],
    ['a 4-byte tag', { ...frame, tag: toBase64Url(b64(frame.tag).subarray(0, 4)) }, 'bad_tag'],
    ['a 16-byte iv', { ...frame, iv: toBase64Url(new Uint8Array(16)) }, 'bad_iv'],
    ['a changed seq (AAD)', { ...frame, seq: 2 }, 'decrypt_failed'],
    ['a changed epoch (AAD)', { ...frame, epoch: 2 }, 'decrypt_failed'],
    ['a changed sessionId (AAD)', { ...frame, sessionId: 'rs_other' }, 'decrypt_failed'],
    ['a changed profile (AAD)', { ...frame, profile: 'noise-ikpsk2' }, 'decrypt_failed'],
  ])('refuses an envelope with %s', (_name, tampered, code) => {
    expectCode(openEnvelope(key, tampered), code);
  });

  it('refuses to seal an empty plaintext (the relay would drop it)', () => {
    expectCode(sealEnvelope(key, header, '', scriptedRandom()), 'empty_plaintext');
  });
});
