// The relay's own cost per routed frame, without sockets: a SessionHub from
// createRelay with in-memory WebSockets, a daemon and clients with sessions
// opened by a key exchange, and e2ee envelopes routed client → daemon → client
// in a loop. Prints ns per traversal (one frame through the hub), which is
// what the relay adds on top of ws framing and the kernel. The socket-level
// comparison against a bare forwarder is `npm run bench`; this one isolates
// the hub so a change to its per-frame path can be measured in seconds.
//
// Run from the repo root after building:
//   npm run build -w relay -w bench && node_modules/.bin/node bench/micro/hub.bench.ts [2000x4 ...]
// (arguments pick topologies; all of them by default).
import { EventEmitter } from 'node:events';
import type * as RelayModule from '../../relay/src/server/relay.js';
import type * as ConfigModule from '../../relay/src/config/index.js';
import type * as Claims from '../../relay/src/admission/claims.js';
import type * as CrossCheck from '../../relay/src/admission/cross-check.js';
import type * as Log from '../../relay/src/admin/log.js';
import type * as Envelopes from '../src/envelopes.js';

const dist = (path: string) => new URL(`../../relay/dist/${path}`, import.meta.url).href;
const { createRelay } = (await import(dist('server/relay.js'))) as typeof RelayModule;
const { parseConfig } = (await import(dist('config/index.js'))) as typeof ConfigModule;
const { parseClaims } = (await import(dist('admission/claims.js'))) as typeof Claims;
const { crossCheckClaims } = (await import(dist('admission/cross-check.js'))) as typeof CrossCheck;
const { createLogger } = (await import(dist('admin/log.js'))) as typeof Log;
// The frames the benchmark harness's load generator sends (built by `npm run build -w bench`).
const { e2eeEnvelope, kexInit, kexResponse } = (await import(new URL('../dist/envelopes.js', import.meta.url).href)) as typeof Envelopes;

const HUGE = String(1e12);
const parsed = parseConfig({
  RELAY_MODE: 'dev',
  RELAY_ADMISSION_MODE: 'jwks',
  RELAY_JWKS_URL: 'http://127.0.0.1:9/jwks',
  RELAY_BACKPLANE_MODE: 'single',
  RELAY_RUNTIME_RATE_PER_MINUTE: HUGE,
  RELAY_RUNTIME_RATE_PER_MINUTE_WORKSPACE: HUGE,
  RELAY_DAEMON_RUNTIME_RATE_PER_MINUTE: HUGE,
  RELAY_KEX_INIT_RATE_PER_MINUTE: HUGE,
  RELAY_CLIENT_INBOUND_FRAMES_PER_SECOND: HUGE,
  RELAY_CLIENT_INBOUND_BYTES_PER_SECOND: HUGE,
  RELAY_DAEMON_INBOUND_FRAMES_PER_SECOND: HUGE,
  RELAY_DAEMON_INBOUND_BYTES_PER_SECOND: HUGE,
  RELAY_MAX_CLIENTS_PER_WORKSPACE: '1000',
  RELAY_SESSION_OWNER_TRACK_MAX: '1000000',
  RELAY_PAIRING_REQUEST_TRACK_MAX: '1000000',
});
if (!parsed.ok) throw new Error(`config: ${parsed.errors.join('; ')}`);
// Set-up logs (daemon_connected per workspace) would bury the figures; errors still show.
const relay = createRelay(parsed.config, { log: createLogger({ maxEntries: 100, minLevel: 'warn' }) });
const hub = relay.hub;

/** MemoryWs is the part of a ws WebSocket the hub uses; sends are counted, not written. */
class MemoryWs extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  sent = 0;
  last: unknown;
  send(data: unknown): void {
    this.sent++;
    this.last = data;
  }
  ping(): void {}
  pause(): void {}
  resume(): void {}
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

const PROFILE = 'noise-ik';

function admit(ws: MemoryWs, role: 'workspace-daemon' | 'client', workspaceId: string, clientId?: string): void {
  const claimsResult = parseClaims({ workspaceId, runtimeTargetId: 'rt-1', e2eeProfile: PROFILE, ...(clientId ? { clientId } : {}) });
  if (!claimsResult.ok) throw new Error('claims');
  const query = { role, workspaceId, runtimeTargetId: 'rt-1' };
  const check = crossCheckClaims(query, claimsResult.claims);
  hub.register(ws as never, { query, ip: '127.0.0.1', claims: claimsResult.claims, check, persistedGeneration: null });
}

interface Pair {
  client: MemoryWs;
  daemon: MemoryWs;
  toDaemon: Buffer;
  toClient: Buffer;
}

/** population builds workspaces × clients with one open session per client. */
function population(label: string, workspaces: number, clientsPer: number, size: number): Pair[] {
  const pairs: Pair[] = [];
  for (let w = 0; w < workspaces; w++) {
    const workspaceId = `ws-${label}-${w}`;
    const daemon = new MemoryWs();
    admit(daemon, 'workspace-daemon', workspaceId);
    for (let c = 0; c < clientsPer; c++) {
      const client = new MemoryWs();
      admit(client, 'client', workspaceId, `client-${w}-${c}`);
      const requestId = `req-${w}-${c}`;
      const sessionId = `sess-${w}-${c}-0123456789`;
      client.emit('message', Buffer.from(kexInit(requestId)), false);
      const before = client.sent;
      daemon.emit('message', Buffer.from(kexResponse(requestId, sessionId)), false);
      if (client.sent !== before + 1) throw new Error('key exchange response was not routed to the client');
      pairs.push({ client, daemon, toDaemon: Buffer.from(e2eeEnvelope(sessionId, 1, size)), toClient: Buffer.from(e2eeEnvelope(sessionId, 2, size)) });
    }
  }
  return pairs;
}

/** sentTotal counts what the hub sent to the population's sockets (a workspace's daemon is in several pairs). */
function sentTotal(pairs: Pair[]): number {
  const sockets = new Set<MemoryWs>();
  for (const p of pairs) sockets.add(p.client).add(p.daemon);
  let n = 0;
  for (const ws of sockets) n += ws.sent;
  return n;
}

/** measure routes frames for at least minMs and returns ns per frame; it throws unless every frame reached its peer. */
function measure(pairs: Pair[], minMs: number): number {
  const sentBefore = sentTotal(pairs);
  let traversals = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(minMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (const p of pairs) {
      p.client.emit('message', p.toDaemon, false);
      p.daemon.emit('message', p.toClient, false);
    }
    traversals += pairs.length * 2;
    now = process.hrtime.bigint();
  }
  // A dropped frame (rate limit, unowned session) would time the drop path instead.
  const delivered = sentTotal(pairs) - sentBefore;
  if (delivered !== traversals) throw new Error(`${traversals - delivered} of ${traversals} frames were not routed`);
  return Number(now - start) / traversals;
}

console.log(`node ${process.version}, ${process.arch}: relay hub, ns per frame routed (client → daemon and back), no sockets`);
const picked = process.argv.slice(2);
for (const [workspaces, clients] of [
  [1, 1],
  [50, 4],
  // Thousands of peers: each frame's objects are out of cache, as at a moderate rate on a busy relay.
  [2000, 4],
] as const) {
  if (picked.length > 0 && !picked.includes(`${workspaces}x${clients}`)) continue;
  for (const size of [256, 16 * 1024]) {
    const pairs = population(`${workspaces}x${clients}-${size}`, workspaces, clients, size);
    measure(pairs, 300); // warm-up: lets the JIT settle before the measured runs
    const runs = [0, 1, 2].map(() => measure(pairs, 700)).sort((a, b) => a - b);
    console.log(`${workspaces}x${clients} ${String(size).padStart(5)} B: ${runs[1]!.toFixed(0).padStart(5)} ns/frame (min ${runs[0]!.toFixed(0)}, max ${runs[2]!.toFixed(0)})`);
  }
}
await relay.close();
