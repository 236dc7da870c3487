// Loads the published conformance vectors (copied verbatim into fixtures) and
// provides a scripted random source so deterministic keys and nonces replay.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  fromBase64Url,
  importKeyPair,
  respondHandshakeV3,
  startHandshakeV3,
  type KeyExchangeInitV3,
  type KeyPair,
  type RandomSource,
} from '../../src/e2ee/index.js';

const dir = fileURLToPath(new URL('../fixtures/vectors/', import.meta.url));

export interface V3Vector {
  id: string;
  profile: 'noise-ik' | 'noise-ikpsk2';
  requestId: string;
  pairingSecret?: string;
  sessionId: string;
  epoch: number;
  init: { clientEphemeralPublicKey: string; encryptedClientStatic: string };
  response: { daemonEphemeralPublicKey: string; encryptedMetadata: string; proof: string };
  sessionKey: string;
}

export interface V3File {
  daemonIdentity: { publicKey: string; privateKey: string };
  clientDeterministicKeys: { staticPrivateKey: string; ephemeralPrivateKey: string };
  daemonDeterministicEphemeralPrivateKey: string;
  vectors: V3Vector[];
}

export interface V2Vector {
  id: string;
  profile: 'noise-ik' | 'noise-ikpsk2';
  requestId: string;
  clientPrivateKey: string;
  clientPublicKey: string;
  daemonPrivateKey: string;
  daemonPublicKey: string;
  pairingSecret?: string;
  clientNonce: string;
  daemonNonce: string;
  sessionId: string;
  previousSessionId?: string;
  epoch: number;
  expectedClientProof: string;
  expectedSessionKey: string;
  expectedDaemonProof: string;
}

export interface V2File {
  vectors: V2Vector[];
}

/** loadV3 reads relay-noise-v3.json. */
export function loadV3(): V3File {
  return JSON.parse(readFileSync(`${dir}relay-noise-v3.json`, 'utf8')) as V3File;
}

/** loadV2 reads relay-noise-v2.json. */
export function loadV2(): V2File {
  return JSON.parse(readFileSync(`${dir}relay-noise-v2.json`, 'utf8')) as V2File;
}

/** b64 decodes base64url fixture text, throwing on malformed fixtures. */
export function b64(text: string): Uint8Array {
  const decoded = fromBase64Url(text);
  if (!decoded.ok) throw new Error(`bad fixture base64url: ${decoded.error.code}`);
  return decoded.bytes;
}

/** scriptedRandom hands out the given byte strings in order; a size mismatch or overrun throws. */
export function scriptedRandom(...chunks: Uint8Array[]): RandomSource {
  const queue = [...chunks];
  return (length) => {
    const next = queue.shift();
    if (!next) throw new Error(`scripted random exhausted (wanted ${length} bytes)`);
    if (next.length !== length) throw new Error(`scripted random: wanted ${length} bytes, next chunk has ${next.length}`);
    return next.slice();
  };
}

/** keyPair imports a fixture private key, throwing on malformed fixtures. */
export function keyPair(privateKey: string): KeyPair {
  const imported = importKeyPair(privateKey);
  if (!imported.ok) throw new Error(`bad fixture key: ${imported.error.code}`);
  return imported.keyPair;
}

/** V3Replay runs one v3 vector's client start and daemon answer with its fixed keys. */
export interface V3Replay {
  readonly daemonStatic: KeyPair;
  readonly clientStatic: KeyPair;
  readonly pairingSecret: Uint8Array | undefined;
  /** start builds message 1; `clientSecret` replaces the client's pairing secret (negative cases). */
  start(clientSecret?: Uint8Array): ReturnType<typeof startHandshakeV3>;
  respond(init: KeyExchangeInitV3): ReturnType<typeof respondHandshakeV3>;
}

/** v3Replay prepares the deterministic inputs of vector `v` from `file`. */
export function v3Replay(file: V3File, v: V3Vector): V3Replay {
  const daemonStatic = keyPair(file.daemonIdentity.privateKey);
  const clientStatic = keyPair(file.clientDeterministicKeys.staticPrivateKey);
  const pairingSecret = v.pairingSecret ? b64(v.pairingSecret) : undefined;
  return {
    daemonStatic,
    clientStatic,
    pairingSecret,
    start: (clientSecret) =>
      startHandshakeV3({
        profile: v.profile,
        requestId: v.requestId,
        clientStatic,
        daemonStaticPublicKey: daemonStatic.publicKey,
        random: scriptedRandom(b64(file.clientDeterministicKeys.ephemeralPrivateKey)),
        ...(pairingSecret ? { pairingSecret: clientSecret ?? pairingSecret, pairingPeerId: 'vector-peer' } : {}),
      }),
    respond: (init) =>
      respondHandshakeV3(init, {
        daemonStatic,
        sessionId: v.sessionId,
        epoch: v.epoch,
        random: scriptedRandom(b64(file.daemonDeterministicEphemeralPrivateKey)),
        ...(pairingSecret ? { pairingSecret } : {}),
      }),
  };
}
