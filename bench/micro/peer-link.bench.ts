// What a peer link costs per frame on each end: the sender encodes a bus
// frame into a link message, the receiver decodes it; with link protocol 2
// the sender also seals it (HMAC-SHA256 tag under the link's session key) and
// the receiver opens it. Prints ns per frame for 256 B and 16 KiB payloads,
// the codec alone and with the tag, so the tag's share is visible.
//
// Run from the repo root after building:
//   npm run build -w relay && node_modules/.bin/node bench/micro/peer-link.bench.ts
// Node 22 strips the types; the code under test is the built dist.
import { performance } from 'node:perf_hooks';
import type * as Codec from '../../relay/src/backplane/peer-links/codec.js';
import type * as Mac from '../../relay/src/backplane/peer-links/link-mac.js';
import type * as Keys from '../../relay/src/backplane/keys.js';

const dist = (path: string) => new URL(`../../relay/dist/backplane/${path}`, import.meta.url).href;
const codec = (await import(dist('peer-links/codec.js'))) as typeof Codec;
const mac = (await import(dist('peer-links/link-mac.js'))) as typeof Mac;
const keys = (await import(dist('keys.js'))) as typeof Keys;

const ROUNDS = 5;
const frameKey = keys.deriveBusSubkeys('bench-bus-key-0123456789abcdef').linkFrame;

function frameOf(bytes: number) {
  const payload = JSON.stringify({ type: 'e2ee', sessionId: 's-0123456789', seq: 1, ciphertext: 'A'.repeat(Math.max(0, bytes - 60)) });
  return {
    workspaceId: 'ws-0123456789',
    runtimeTargetId: 'rt-0123456789',
    sourceRelayId: 'relay-a',
    targetRelayId: 'relay-b',
    direction: 'client_to_daemon' as const,
    payload,
    payloadBytes: Buffer.from(payload, 'utf8'),
  };
}

/** nsPerFrame runs one sender and one receiver over n frames, in the same thread, and returns ns per frame. */
function nsPerFrame(bytes: number, n: number, tagged: boolean): number {
  const frame = frameOf(bytes);
  const session = mac.linkSessionKeys(frameKey, 'relay-a', 'relay-b', Buffer.alloc(16, 1), Buffer.alloc(16, 2));
  const sealer = new mac.LinkMac(session.dialerToListener);
  const opener = new mac.LinkMac(session.dialerToListener);
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const data = codec.encodeLinkFrame(frame);
    if (tagged) sealer.seal(data);
    if (tagged && !opener.open(data)) throw new Error('tag mismatch');
    sink += codec.decodeLinkFrame(data, 'relay-a')?.payloadBytes?.length ?? 0;
  }
  const elapsed = performance.now() - started;
  if (sink === 0) throw new Error('nothing decoded');
  return (elapsed * 1e6) / n;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

console.log('| payload | codec only, ns/frame | codec + tag, ns/frame | tag, ns/frame (both ends) |');
console.log('|---|---|---|---|');
for (const [label, bytes, n] of [
  ['256 B', 256, 200_000],
  ['16 KiB', 16 * 1024, 40_000],
] as const) {
  nsPerFrame(bytes, n / 10, true); // warm-up
  nsPerFrame(bytes, n / 10, false);
  const plain: number[] = [];
  const tagged: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(nsPerFrame(bytes, n, false));
    tagged.push(nsPerFrame(bytes, n, true));
  }
  const [p, t] = [median(plain), median(tagged)];
  console.log(`| ${label} | ${p.toFixed(0)} | ${t.toFixed(0)} | ${(t - p).toFixed(0)} |`);
}
