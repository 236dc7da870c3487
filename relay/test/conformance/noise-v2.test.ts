// Replays every relay-noise-v2.json vector byte for byte (docs/e2ee-protocol.md#vectors-v2).
import { describe, expect, it } from 'vitest';
import {
  finishKeyExchangeV2,
  importKeyPair,
  respondKeyExchangeV2,
  startKeyExchangeV2,
  toBase64Url,
} from '../../src/e2ee/index.js';
import { b64, loadV2, scriptedRandom } from './vectors.js';

const file = loadV2();

describe('legacy v2 key exchange conformance vectors', () => {
  it.each(file.vectors.map((v) => [v.id, v] as const))('vector %s replays byte for byte', (id, v) => {
    const client = importKeyPair(v.clientPrivateKey);
    const daemon = importKeyPair(v.daemonPrivateKey);
    if (!client.ok || !daemon.ok) throw new Error('vector keys must import');
    expect(toBase64Url(client.keyPair.publicKey)).toBe(v.clientPublicKey);
    expect(toBase64Url(daemon.keyPair.publicKey)).toBe(v.daemonPublicKey);
    const pairingSecret = v.pairingSecret ? b64(v.pairingSecret) : undefined;

    const started = startKeyExchangeV2({
      profile: v.profile,
      requestId: v.requestId,
      clientKey: client.keyPair,
      daemonPublicKeyText: v.daemonPublicKey,
      random: scriptedRandom(b64(v.clientNonce)),
      ...(pairingSecret ? { pairingSecret, pairingPeerId: 'vector-peer' } : {}),
      ...(v.previousSessionId ? { previousSessionId: v.previousSessionId } : {}),
    });
    if (!started.ok) throw new Error(started.error.message);
    expect(started.frame.clientNonce).toBe(v.clientNonce);
    expect(started.frame.clientProof).toBe(v.expectedClientProof);

    const answered = respondKeyExchangeV2(started.frame, {
      daemonStatic: daemon.keyPair,
      daemonPublicKeyText: v.daemonPublicKey,
      sessionId: v.sessionId,
      epoch: v.epoch,
      random: scriptedRandom(b64(v.daemonNonce)),
      ...(pairingSecret ? { pairingSecret } : {}),
    });
    if (!answered.ok) throw new Error(answered.error.message);
    expect(answered.frame.daemonNonce).toBe(v.daemonNonce);
    expect(toBase64Url(answered.session.key)).toBe(v.expectedSessionKey);
    expect(answered.frame.proof).toBe(v.expectedDaemonProof);

    const finished = finishKeyExchangeV2(started.pending, answered.frame);
    if (!finished.ok) throw new Error(finished.error.message);
    expect(toBase64Url(finished.session.key)).toBe(v.expectedSessionKey);
    console.log(`vector ${id}: ok`);
  });
});
