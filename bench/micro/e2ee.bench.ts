// E2EE toolkit throughput: complete handshakes per second for each profile
// (both sides in one process, so each iteration is a client start, a daemon
// answer and a client finish), and envelope seal+open throughput for 256 B
// and 16 KiB plaintexts.
//
// Run from the repo root after building:
//   npm run build -w relay && node_modules/.bin/node bench/micro/e2ee.bench.ts
// Node 22 strips the types; the code under test is the built dist.
import type * as E2ee from '../../relay/src/e2ee/index.js';

const e2ee = (await import(new URL('../../relay/dist/e2ee/index.js', import.meta.url).href)) as typeof E2ee;
const { systemRandom: random } = e2ee;

const BUDGET_MS = Number(process.argv[2] ?? 1500);

function must<T>(result: E2ee.Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result;
}

/** measure runs `step` repeatedly for about BUDGET_MS after a short warm-up and returns ops/s. */
function measure(step: () => void): number {
  for (let i = 0; i < 20; i++) step();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    for (let i = 0; i < 10; i++) step();
    ops += 10;
    elapsed = performance.now() - start;
  }
  return (ops * 1000) / elapsed;
}

const daemonStatic = e2ee.generateKeyPair(random);
const clientStatic = e2ee.generateKeyPair(random);
const pairingSecret = random(32);

function handshakeStep(profile: E2ee.Profile, version: 2 | 3): () => void {
  const psk = profile === 'noise-ikpsk2' ? { pairingSecret, pairingPeerId: 'bench-peer' } : {};
  if (version === 2) {
    const daemonText = e2ee.toBase64Url(daemonStatic.publicKey);
    return () => {
      const started = must(e2ee.startKeyExchangeV2({ profile, requestId: 'kex-bench', clientKey: clientStatic, daemonPublicKeyText: daemonText, random, ...psk }));
      const answered = must(e2ee.respondKeyExchangeV2(started.frame, { daemonStatic, sessionId: 'rs_bench', epoch: 1, random, ...psk }));
      must(e2ee.finishKeyExchangeV2(started.pending, answered.frame));
    };
  }
  return () => {
    const started = must(e2ee.startHandshakeV3({ profile, requestId: 'kex-bench', clientStatic, daemonStaticPublicKey: daemonStatic.publicKey, random, ...psk }));
    const answered = must(e2ee.respondHandshakeV3(started.frame, { daemonStatic, sessionId: 'rs_bench', epoch: 1, random, ...psk }));
    must(e2ee.finishHandshakeV3(started.pending, answered.frame));
  };
}

console.log(`e2ee benchmark (node ${process.version}, ~${String(BUDGET_MS)} ms per case)`);
console.log('handshakes (client start + daemon answer + client finish):');
for (const version of [3, 2] as const) {
  for (const profile of e2ee.PROFILES) {
    const rate = measure(handshakeStep(profile, version));
    console.log(`  v${String(version)} ${profile.padEnd(13)} ${rate.toFixed(0).padStart(7)} handshakes/s  ${(1000 / rate).toFixed(3)} ms each`);
  }
}

console.log('envelopes (seal + open with replay window, one direction):');
const key = random(32);
for (const bytes of [256, 16 * 1024]) {
  const plaintext = 'x'.repeat(bytes);
  const keys = { profile: 'noise-ik' as const, sessionId: 'rs_bench', epoch: 1, key };
  const sender = e2ee.newSessionState(keys);
  const receiver = e2ee.newSessionState(keys);
  const rate = measure(() => {
    const sealed = must(e2ee.sealOnSession(sender, plaintext, random));
    must(e2ee.openOnSession(receiver, sealed.frame));
  });
  const mbPerSecond = (rate * bytes) / (1024 * 1024);
  console.log(`  ${String(bytes).padStart(5)} B  ${rate.toFixed(0).padStart(8)} envelopes/s  ${mbPerSecond.toFixed(2).padStart(7)} MB/s of plaintext`);
}
