// Replays every relay-noise-v3.json vector byte for byte (docs/e2ee-protocol.md#vectors-v3):
// client message 1, daemon message 2 and session key, then client finish.
import { describe, expect, it } from 'vitest';
import {
  finishHandshakeV3,
  toBase64Url,
} from '../../src/e2ee/index.js';
import { keyPair, loadV3, v3Replay } from './vectors.js';

const file = loadV3();

describe('noise v3 conformance vectors', () => {
  const daemonStatic = keyPair(file.daemonIdentity.privateKey);
  const clientStatic = keyPair(file.clientDeterministicKeys.staticPrivateKey);

  it('derives the published daemon identity', () => {
    expect(toBase64Url(daemonStatic.publicKey)).toBe(file.daemonIdentity.publicKey);
  });

  it.each(file.vectors.map((v) => [v.id, v] as const))('vector %s replays byte for byte', (id, v) => {
    const replay = v3Replay(file, v);
    const started = replay.start();
    if (!started.ok) throw new Error(started.error.message);
    expect(started.frame.clientEphemeralPublicKey).toBe(v.init.clientEphemeralPublicKey);
    expect(started.frame.encryptedClientStatic).toBe(v.init.encryptedClientStatic);

    const answered = replay.respond(started.frame);
    if (!answered.ok) throw new Error(answered.error.message);
    expect(answered.frame.daemonEphemeralPublicKey).toBe(v.response.daemonEphemeralPublicKey);
    expect(answered.frame.encryptedMetadata).toBe(v.response.encryptedMetadata);
    expect(answered.frame.proof).toBe(v.response.proof);
    expect(toBase64Url(answered.session.key)).toBe(v.sessionKey);
    expect(toBase64Url(answered.clientStaticPublicKey)).toBe(toBase64Url(clientStatic.publicKey));

    const finished = finishHandshakeV3(started.pending, answered.frame);
    if (!finished.ok) throw new Error(finished.error.message);
    expect(finished.session.sessionId).toBe(v.sessionId);
    expect(finished.session.epoch).toBe(v.epoch);
    expect(toBase64Url(finished.session.key)).toBe(v.sessionKey);
    console.log(`vector ${id}: ok`);
  });
});
