// Issue 11, isolation: random traffic from many scopes (ids that collide when
// joined, the same session ids reused in every scope), with peers spread over
// three relays on a real Redis. No frame reaches a peer outside its scope; a
// client's frames for another client's session never reach the daemon; every
// legitimate frame arrives exactly once.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TestPeer } from '../relay-harness.js';
import { waitFor } from '../relay-harness.js';
import type { RelayProcess } from '../multi-relay/relay-process.js';
import { openSessionEventually, sequenced, startCluster, type Cluster } from './cluster.js';
import { report, scaled } from './long-run.js';

// Every wait in this file has its own budget and fails naming what it waited
// for; the per-test budget only has to outlast them on a loaded 2-core machine
// (the default 20 s cut several tests off mid-wait, with no clue what hung).
vi.setConfig({ testTimeout: 180_000 });

// Scopes whose ids collide when joined with ':' (docs/protocol.md#weak-scope-key), plus plain ones.
const SCOPES: [string, string][] = [
  ['a:b', 'c'],
  ['a', 'b:c'],
  ['a', 'c'],
  ['ws-1', 't1'],
  ['ws-1', 't2'],
  ['ws-2', 't1'],
  ['ws-3', 't1'],
  ['ws-4', 't9'],
];
const CLIENTS_PER_SCOPE = 2;
const FRAMES = scaled(3000, 30_000);

interface Member {
  readonly scope: number;
  readonly peer: TestPeer;
  readonly relay: RelayProcess;
}
interface ClientMember extends Member {
  readonly index: number;
  /** The same session id in every scope: isolation must not rely on unique ids. */
  readonly sessionId: string;
}

let cluster: Cluster;
const daemons: Member[] = [];
const clients: ClientMember[] = [];

beforeAll(async () => {
  cluster = await startCluster('isolation', 3);
  const relayAt = (i: number) => cluster.relays[i % cluster.relays.length] as RelayProcess;
  for (const [s, [workspaceId, runtimeTargetId]] of SCOPES.entries()) {
    const relay = relayAt(s);
    daemons.push({ scope: s, relay, peer: await cluster.join(relay, { role: 'workspace-daemon', workspaceId, runtimeTargetId }) });
  }
  for (const [s, [workspaceId, runtimeTargetId]] of SCOPES.entries()) {
    for (let c = 0; c < CLIENTS_PER_SCOPE; c++) {
      const relay = relayAt(s + c + 1); // clients mostly on another relay than their daemon
      const peer = await cluster.join(relay, { role: 'client', workspaceId, runtimeTargetId, claims: { scope: 'runtime', clientId: `c-${s}-${c}` } });
      clients.push({ scope: s, index: c, sessionId: `session-${c}`, relay, peer });
    }
  }
  // Presence propagates through Redis; a key exchange per client both proves routing and records session owners.
  for (const c of clients) {
    const daemon = daemons[c.scope] as Member;
    await openSessionEventually(c.peer, daemon.peer, c.sessionId, `session for client ${c.scope}/${c.index}`, 30_000, 1500);
  }
}, 180_000);

afterAll(async () => cluster?.close());

type Action =
  | { kind: 'client'; who: number } // a client's own session
  | { kind: 'inject'; who: number; victim: number } // a client names another client's session
  | { kind: 'daemon'; scope: number; to: number }; // a daemon writes to a session (maybe one only another scope has)

describe('isolation across three relays', () => {
  it(`${FRAMES} random frames over ${SCOPES.length} scopes: each reaches exactly its own scope's addressee, injections reach no one`, async () => {
    for (const m of [...daemons, ...clients]) m.peer.messages.length = 0;
    const action: fc.Arbitrary<Action> = fc.oneof(
      { arbitrary: fc.nat({ max: clients.length - 1 }).map((who) => ({ kind: 'client' as const, who })), weight: 4 },
      { arbitrary: fc.tuple(fc.nat({ max: clients.length - 1 }), fc.nat({ max: clients.length - 1 })).map(([who, victim]) => ({ kind: 'inject' as const, who, victim })), weight: 2 },
      { arbitrary: fc.tuple(fc.nat({ max: SCOPES.length - 1 }), fc.nat({ max: CLIENTS_PER_SCOPE - 1 })).map(([scope, to]) => ({ kind: 'daemon' as const, scope, to })), weight: 4 },
    );
    const actions = fc.sample(action, { numRuns: FRAMES, seed: 1111 });
    const expectToDaemon = new Map<number, number>();
    const expectToClient = new Map<ClientMember, number>();
    let injections = 0;
    for (const [seq, a] of actions.entries()) {
      if (a.kind === 'client') {
        const c = clients[a.who] as ClientMember;
        c.peer.send({ ...sequenced(c.sessionId, seq + 1), origin: c.scope, from: `c-${c.scope}-${c.index}` });
        expectToDaemon.set(c.scope, (expectToDaemon.get(c.scope) ?? 0) + 1);
      } else if (a.kind === 'inject') {
        const c = clients[a.who] as ClientMember;
        const victim = clients[a.victim] as ClientMember;
        // Always the session id the other client of this scope opened (every scope reuses the same ids).
        if (victim === c) continue;
        const sessionId = victim.scope === c.scope ? victim.sessionId : `session-${(c.index + 1) % CLIENTS_PER_SCOPE}`;
        c.peer.send({ ...sequenced(sessionId, seq + 1), origin: c.scope, inject: true });
        injections += 1;
      } else {
        const d = daemons[a.scope] as Member;
        const target = clients.find((c) => c.scope === a.scope && c.index === a.to) as ClientMember;
        d.peer.send({ ...sequenced(target.sessionId, seq + 1), origin: a.scope });
        expectToClient.set(target, (expectToClient.get(target) ?? 0) + 1);
      }
      if (seq % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    const e2eeCount = (p: TestPeer) => p.messages.filter((m) => m.includes('"type":"e2ee"')).length;
    for (const d of daemons) await waitFor(() => e2eeCount(d.peer) >= (expectToDaemon.get(d.scope) ?? 0), 60_000, `daemon ${d.scope} traffic`);
    for (const c of clients) await waitFor(() => e2eeCount(c.peer) >= (expectToClient.get(c) ?? 0), 60_000, `client ${c.scope}/${c.index} traffic`);
    // Let any straggler that should not exist arrive before judging: a ping round trip through every relay.
    await Promise.all([...daemons, ...clients].map((m) => new Promise<void>((r) => { m.peer.ws.once('pong', () => r()); m.peer.ws.ping(); })));

    for (const d of daemons) {
      const got = d.peer.messages.map((t) => JSON.parse(t) as Record<string, unknown>).filter((m) => m.type === 'e2ee');
      expect(got.every((m) => m.origin === d.scope)).toBe(true);
      expect(got.some((m) => m.inject === true)).toBe(false);
      expect(got).toHaveLength(expectToDaemon.get(d.scope) ?? 0);
    }
    for (const c of clients) {
      const got = c.peer.messages.map((t) => JSON.parse(t) as Record<string, unknown>).filter((m) => m.type === 'e2ee');
      expect(got.every((m) => m.origin === c.scope && m.sessionId === c.sessionId)).toBe(true);
      expect(got).toHaveLength(expectToClient.get(c) ?? 0);
    }
    let refused = 0;
    for (const r of cluster.relays) refused += await r.metric('relay_client_messages_dropped_total');
    expect(refused).toBeGreaterThanOrEqual(injections);
    report(`isolation: ${actions.length} random frames over ${SCOPES.length} scopes on 3 relays; ${injections} injection attempts, none delivered`);
  });
});
