// Issue 23, items 2 and 3, against real relay processes and a real
// redis-server: an attacker who can write to Redis plants presence records and
// replays a captured loss marker. Nothing it writes changes where a frame goes
// or who is redirected, and no replayed marker closes a client; every refusal
// is counted.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { redisKeys } from '../../src/backplane/redis/keys.js';
import { waitFor, type TestPeer } from '../relay-harness.js';
import { ADMIN_TOKEN, type RelayProcess } from '../multi-relay/relay-process.js';
import { openSessionEventually, redisClient, sequenced, startCluster, statuses, type Cluster } from './cluster.js';
import { report } from './long-run.js';

vi.setConfig({ testTimeout: 180_000 });

/** labelled reads one labelled sample from a relay's /metrics (0 when absent). */
async function labelled(relay: RelayProcess, name: string, reason: string): Promise<number> {
  const res = await fetch(`${relay.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** fieldOf reads one field of a stream entry's field/value list. */
function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

let cluster: Cluster | undefined;
let direct: Redis | undefined;
afterEach(async () => {
  direct?.disconnect();
  direct = undefined;
  await cluster?.close();
  cluster = undefined;
});


describe('presence an attacker writes to Redis', () => {
  it('is never followed: unsigned and badly signed records send no frame to the attacker’s stream and redirect no one; each is counted', async () => {
    // No periodic refresh: the planted record stays until the test replaces it.
    cluster = await startCluster('trust-presence', 2, {
      RELAY_REDIS_PRESENCE_TTL_MS: '60000',
      RELAY_PRESENCE_SYNC_INTERVAL_MS: '600000',
      RELAY_CLIENT_REDIRECT_ENABLED: '1',
    });
    const [home, far] = cluster.relays as [RelayProcess, RelayProcess];
    const scope = { workspaceId: 'w-forged', runtimeTargetId: 't1' };
    const daemon = await cluster.join(home, { role: 'workspace-daemon', ...scope });
    const client = await cluster.join(far, { role: 'client', ...scope, claims: { scope: 'runtime', clientId: 'victim' } });
    await openSessionEventually(client, daemon, 's-forged', 'a session across the relays');
    direct = await redisClient(cluster);
    const keys = redisKeys('trust-presence');
    const evilStream = keys.stream('attacker');
    const evilUrl = 'ws://attacker.invalid/ws';

    for (const [reason, sig] of [
      ['unsigned', undefined],
      ['invalid_signature', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ] as const) {
      const forged = { relayId: 'attacker', relayWsBaseUrl: evilUrl, daemonConnected: true, updatedAtMs: Date.now(), ...(sig ? { sig } : {}) };
      await direct.set(keys.presence(scope), JSON.stringify(forged), 'PX', 60_000);
      const before = statuses(client, 'DAEMON_UNAVAILABLE').length;
      // Once the far relay's 2 s lookup cache has expired it reads the planted record.
      let seq = 0;
      await waitFor(async () => {
        seq += 1;
        client.send(sequenced('s-forged', seq));
        await new Promise((r) => setTimeout(r, 50));
        return statuses(client, 'DAEMON_UNAVAILABLE').length > before && (await labelled(far, 'relay_presence_rejected_total', reason)) >= 1;
      }, 20_000, `the ${reason} record refused`);
    }
    expect(await direct.xlen(evilStream)).toBe(0);
    const redirects = client.messages.filter((m) => m.includes('RELAY_REDIRECT'));
    expect(redirects.filter((m) => m.includes('attacker.invalid'))).toEqual([]);
    expect(far.output()).toContain('presence_record_refused');
    report(`forged presence: ${statuses(client, 'DAEMON_UNAVAILABLE').length} frames answered DAEMON_UNAVAILABLE, 0 entries in the attacker's stream, no redirect to its host`);
  });
});

describe('a loss marker an attacker captured from Redis', () => {
  it('closes clients once when genuine; replayed at once, after the window and right after a restart it closes no one, and each refusal is counted', async () => {
    const WINDOW_MS = 8000;
    cluster = await startCluster('trust-markers', 2, { RELAY_REDIS_QUEUE_MAX: '20', RELAY_BUS_SIGNATURE_MAX_SKEW_MS: String(WINDOW_MS), RELAY_REDIS_PRESENCE_TTL_MS: '30000' });
    const [home, far] = cluster.relays as [RelayProcess, RelayProcess];
    const scope = { workspaceId: 'w-marker', runtimeTargetId: 't1' };
    const daemon = await cluster.join(home, { role: 'workspace-daemon', ...scope });
    const joinClient = (relay: RelayProcess, clientId: string) => cluster!.join(relay, { role: 'client', ...scope, claims: { scope: 'runtime', clientId } });
    const first = await joinClient(far, 'first');
    await openSessionEventually(first, daemon, 's-m', 'a session across the relays');
    direct = await redisClient(cluster);
    const stream = redisKeys('trust-markers').stream(far.id);

    // A real marker: the far relay stalls, the daemon's frames overflow its stream.
    process.kill(far.pid, 'SIGSTOP');
    let marker: string[] | undefined;
    try {
      for (let seq = 1; seq <= 60; seq++) daemon.send(sequenced('s-m', seq));
      await waitFor(async () => {
        const entries = (await direct!.xrange(stream, '-', '+')) as [string, string[]][];
        marker = entries.find(([, fields]) => fields[0] === 'k' && fields[1] === 'l')?.[1];
        return marker !== undefined;
      }, 10_000, 'the loss marker in the stream');
    } finally {
      process.kill(far.pid, 'SIGCONT');
    }
    const captured = marker as string[];
    expect((await first.closed).code).toBe(1013);

    const replay = () => direct!.xadd(stream, '*', ...captured);
    const refusedOn = async (relay: RelayProcess, reason: string, times: number) =>
      waitFor(async () => (await labelled(relay, 'relay_bus_loss_refused_total', reason)) >= times, 15_000, `a replay refused as ${reason}`);
    const stillOpen = async (client: TestPeer, sessionId: string) => {
      await openSessionEventually(client, daemon, sessionId, 'a session after the replay');
      expect(client.ws.readyState).toBe(WebSocket.OPEN);
    };

    // At once: the same boot and sequence were seen.
    const second = await joinClient(far, 'second');
    await replay();
    await refusedOn(far, 'replayed', 1);
    await stillOpen(second, 's-m2');

    // After the window: appended long after it was signed.
    const issuedAt = Number(fieldOf(captured, 'i'));
    await waitFor(() => Date.now() > issuedAt + WINDOW_MS + 500, WINDOW_MS + 5000, 'the window to pass');
    await replay();
    await refusedOn(far, 'stale', 1);
    await stillOpen(second, 's-m3');

    // Right after a restart, with a window wide enough that only the start bound can refuse it.
    await far.kill();
    const restarted = await cluster.startRelay(far.id, { RELAY_BUS_SIGNATURE_MAX_SKEW_MS: '120000' });
    const third = await joinClient(restarted, 'third');
    await replay();
    await refusedOn(restarted, 'before_start', 1);
    await stillOpen(third, 's-m4');
    expect(await restarted.metric('relay_bus_loss_received_total')).toBe(0);
    report('replayed loss marker: honoured once when genuine (1013), then refused as replayed, stale and before_start; no client closed');
  });
});
