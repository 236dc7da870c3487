// Cross-relay routing in the relay core, with two relays in one process linked
// by an in-memory backplane double: docs/protocol.md#no-local-daemon,
// docs/protocol.md#redirect, docs/protocol.md#bus-ingress, and the fixes of
// docs/protocol.md#weak-generation-memory, docs/protocol.md#weak-presence-delete
// and docs/protocol.md#weak-redirect-loop.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceRecord } from '../src/backplane/backplane.js';
import { createDevIssuer, type DevIssuer } from '../src/devissuer/issuer.js';
import { MemoryBus } from './memory-backplane.js';
import { closeAll, connectPeer, counterValue, startTestRelay, waitFor, type TestPeer, type TestRelay } from './relay-harness.js';
import { openSession, range, seqsOf, sequenced, UNLIMITED } from './reliability/cluster.js';
import { e2ee, kexInit, kexResponse, pairingOffer, pairingOfferResponse, sessionEvent, subscribe } from './frame-fixtures.js';

let issuer: DevIssuer;
const relays: TestRelay[] = [];
beforeAll(async () => {
  issuer = await createDevIssuer();
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function pair(urls: { a: string; b: string }, extra: Record<string, string> = {}): Promise<{ bus: MemoryBus; a: TestRelay; b: TestRelay }> {
  const bus = new MemoryBus();
  const start = async (id: string, url: string) => {
    const r = await startTestRelay(
      {
        RELAY_ADMISSION_MODE: 'jwks',
        RELAY_JWKS_URL: 'http://127.0.0.1:9/unused',
        RELAY_BACKPLANE_MODE: 'server',
        RELAY_INTERNAL_KEY: 'internal-key-for-tests',
        RELAY_BUS_HMAC_KEY: 'bus-key-for-tests',
        RELAY_ID: id,
        RELAY_PUBLIC_WS_BASE_URL: url,
        ...extra,
      },
      { backplane: bus.connect(id), admission: { keySource: issuer.keySource } },
    );
    relays.push(r);
    return r;
  };
  return { bus, a: await start('relay-a', urls.a), b: await start('relay-b', urls.b) };
}

async function join(r: TestRelay, role: 'workspace-daemon' | 'client', claims: Record<string, unknown> = {}): Promise<TestPeer> {
  const token = await issuer.mint({ role, workspaceId: 'w1', runtimeTargetId: 't1', ...claims });
  return connectPeer(r.wsUrl, { role, workspaceId: 'w1', runtimeTargetId: 't1', token });
}

describe('cross-relay routing', () => {
  it('redirects the client and carries kex, e2ee and pairing both ways over the bus', async () => {
    const { a, b, bus } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' });
    const daemon = await join(a, 'workspace-daemon', { machineId: 'm-1' });
    await waitFor(() => bus.presence.size === 1, 2000, 'presence');
    const client = await join(b, 'client', { clientId: 'c-b' });
    expect(await client.next((m) => m.code === 'RELAY_REDIRECT')).toEqual({
      type: 'relay_status',
      code: 'RELAY_REDIRECT',
      message: 'Workspace is assigned to a different relay instance',
      workspaceId: 'w1',
      relayWsBaseUrl: 'ws://relay-a.test/ws',
    });
    client.send(kexInit('k-x'));
    expect(await client.next((m) => m.code === 'RELAY_REDIRECT')).toMatchObject({ runtimeTargetId: 't1', relayWsBaseUrl: 'ws://relay-a.test/ws' });
    await daemon.next((m) => m.requestId === 'k-x');
    daemon.send(kexResponse('k-x', 's-x'));
    await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === 's-x');
    client.send(e2ee('s-x', { seq: 5 }));
    await daemon.next((m) => m.type === 'e2ee' && m.seq === 5);
    daemon.send(e2ee('s-x', { seq: 6 }));
    await client.next((m) => m.type === 'e2ee' && m.seq === 6);
    const pairing = await join(b, 'client', { scope: 'pairing' });
    pairing.send(pairingOffer('p-x'));
    await daemon.next((m) => m.requestId === 'p-x');
    daemon.send(pairingOfferResponse('p-x'));
    await pairing.next((m) => m.type === 'relay_pairing_offer_response');
    expect(bus.published.map((f) => f.direction)).toEqual(expect.arrayContaining(['client_to_daemon', 'daemon_to_clients']));
    expect(bus.published.every((f) => f.machineId === undefined || f.machineId === 'm-1')).toBe(true);
    await closeAll([daemon, client, pairing]);
  });

  it('never redirects to its own URL behind a shared load balancer, but still forwards (docs/protocol.md#weak-redirect-loop)', async () => {
    const { a, b } = await pair({ a: 'ws://relay.test/ws', b: 'ws://relay.test/ws' });
    const daemon = await join(a, 'workspace-daemon');
    const client = await join(b, 'client');
    await waitFor(() => b.relay.hub.scopes.size >= 1);
    client.send(kexInit('k-lb'));
    await daemon.next((m) => m.requestId === 'k-lb');
    expect(client.messages.some((m) => m.includes('RELAY_REDIRECT'))).toBe(false);
    await closeAll([daemon, client]);
  });

  it('in prod, forwards over the bus to a relay advertising an in-cluster ws:// URL, but never redirects a client there', async () => {
    const { a, b } = await pair({ a: 'ws://relay-0.relay.ns.svc/ws', b: 'ws://relay-1.relay.ns.svc/ws' }, { RELAY_MODE: 'prod', RELAY_TLS_TERMINATION: 'platform', RELAY_INTERNAL_KEY: 'k'.repeat(32), RELAY_SERVER_AUTH_MODE: 'private_network_shared_secret', RELAY_CLIENT_REDIRECT_ENABLED: '1' });
    const daemon = await join(a, 'workspace-daemon');
    const client = await join(b, 'client');
    await waitFor(() => b.relay.hub.scopes.size >= 1);
    client.send(kexInit('k-prod'));
    await daemon.next((m) => m.requestId === 'k-prod');
    daemon.send(kexResponse('k-prod', 's-prod'));
    await client.next((m) => m.type === 'relay_key_exchange_response' && m.sessionId === 's-prod');
    expect(client.messages.some((m) => m.includes('RELAY_REDIRECT') || m.includes('DAEMON_UNAVAILABLE'))).toBe(false);
    await closeAll([daemon, client]);
  });

  it('fans a bus-delivered session event out to local subscribers', async () => {
    const { a, b } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' });
    const sub = await join(b, 'client', { scope: 'session-events', sessionChannels: ['agent-session:1'] });
    sub.send(subscribe('agent-session:1'));
    await sub.next((m) => m.type === 'viewport.session_events.subscribed/v1');
    b.relay.hub.onBusFrame({
      workspaceId: 'w1',
      runtimeTargetId: 't1',
      sourceRelayId: 'platform',
      targetRelayId: 'relay-b',
      direction: 'daemon_to_clients',
      payload: JSON.stringify(sessionEvent('agent-session:1', 9)),
    });
    expect(await sub.next((m) => m.schema === 'viewport.session_event_relay_frame/v1')).toMatchObject({ channel: 'agent-session:1' });
    void a;
    await closeAll([sub]);
  });

  it('judges a bus frame as it judges a socket frame: invalid payloads are counted and dropped, an envelope reaches the daemon byte for byte', async () => {
    const { b } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' });
    const daemon = await join(b, 'workspace-daemon');
    const fromA = (payload: string) =>
      b.relay.hub.onBusFrame({ workspaceId: 'w1', runtimeTargetId: 't1', sourceRelayId: 'relay-a', targetRelayId: 'relay-b', direction: 'client_to_daemon', payload });
    const frame = e2ee('s-bus', { ciphertext: 'Q'.repeat(20000) });
    const envelope = JSON.stringify(frame);
    const pretty = JSON.stringify(frame, null, 1); // whitespace: the fast path defers, the full parser accepts
    fromA('{"type":"e2ee","version":2'); // cut short: not JSON
    fromA(envelope.replace('"profile":"noise-ik"', '"profile":"noise-xx"')); // an unknown profile
    fromA(pretty);
    fromA(envelope);
    await waitFor(() => daemon.messages.length >= 2, 5000, 'two envelopes delivered');
    expect(daemon.messages).toEqual([pretty, envelope]);
    expect(await counterValue(b.relay, 'relay_bus_frames_rejected_total')).toBe(2);
    await closeAll([daemon]);
  });

  it("delivers a local daemon's session events to its own subscribers and, over the bus, to other relays' subscribers of that channel and scope only (docs/protocol.md#weak-session-events)", async () => {
    const { a, b, bus } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' });
    const channel = 'agent-session:1';
    const daemon = await join(a, 'workspace-daemon');
    const subscribeTo = async (r: TestRelay, ch: string, runtimeTargetId = 't1') => {
      const token = await issuer.mint({ role: 'client', workspaceId: 'w1', runtimeTargetId, scope: 'session-events', sessionChannels: [ch] });
      const peer = await connectPeer(r.wsUrl, { role: 'client', workspaceId: 'w1', runtimeTargetId, token });
      peer.send(subscribe(ch));
      await peer.next((m) => m.type === 'viewport.session_events.subscribed/v1');
      return peer;
    };
    const onA = await subscribeTo(a, channel);
    const onB = await subscribeTo(b, channel);
    const otherChannel = await subscribeTo(b, 'agent-session:2');
    const otherTarget = await subscribeTo(b, channel, 't2');
    daemon.send(sessionEvent(channel, 1));
    daemon.send(sessionEvent(channel, 2));
    for (const sub of [onA, onB]) {
      expect(await sub.next((m) => m.schema === 'viewport.session_event_relay_frame/v1')).toMatchObject({ channel, event: { seq: 1 } });
      expect(await sub.next((m) => m.schema === 'viewport.session_event_relay_frame/v1')).toMatchObject({ channel, event: { seq: 2 } });
    }
    // Each event crossed once, from A to every relay, and B did not publish its copy again.
    expect(bus.published.map((f) => [f.sourceRelayId, f.targetRelayId, f.direction])).toEqual([
      ['relay-a', null, 'daemon_to_clients'],
      ['relay-a', null, 'daemon_to_clients'],
    ]);
    // A marker sent after the events reaches the bystanders' relay last: if they got nothing by then, they never will.
    daemon.send(sessionEvent('agent-session:2', 3));
    expect(await otherChannel.next((m) => m.schema === 'viewport.session_event_relay_frame/v1')).toMatchObject({ event: { seq: 3 } });
    expect(otherChannel.messages.filter((m) => m.includes('session_event_relay_frame'))).toHaveLength(1);
    expect(otherTarget.messages.some((m) => m.includes('session_event_relay_frame'))).toBe(false);
    expect(onA.messages.filter((m) => m.includes('session_event_relay_frame'))).toHaveLength(2);
    await closeAll([daemon, onA, onB, otherChannel, otherTarget]);
  });

  it('refuses a daemon whose generation is below the one in presence (docs/protocol.md#weak-generation-memory), and compare-and-deletes presence on close (docs/protocol.md#weak-presence-delete)', async () => {
    const { a, b, bus } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' });
    const current = await join(a, 'workspace-daemon', { daemonIssueGeneration: 3 });
    await waitFor(() => bus.presence.size === 1);
    expect([...bus.presence.values()][0]).toMatchObject({ relayId: 'relay-a', daemonConnected: true, daemonIssueGeneration: 3 });
    const stale = await join(b, 'workspace-daemon', { daemonIssueGeneration: 2 });
    expect(await stale.closed).toEqual({ code: 4008, reason: 'stale daemon generation' });
    // B's failed daemon must not remove A's entry; A's own close does.
    expect(bus.presence.size).toBe(1);
    await closeAll([current]);
    await waitFor(() => bus.presence.size === 0, 2000, 'presence removed');
  });

  it('re-announces presence periodically, machineId included', async () => {
    const { a, bus } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' }, { RELAY_PRESENCE_SYNC_INTERVAL_MS: '50' });
    const daemon = await join(a, 'workspace-daemon', { machineId: 'm-7' });
    await waitFor(() => bus.presence.size === 1);
    bus.presence.clear(); // as if the entry expired in the store
    await waitFor(() => bus.presence.size === 1, 2000, 'presence refresh');
    expect([...bus.presence.values()][0]).toMatchObject({ relayId: 'relay-a', machineId: 'm-7', daemonConnected: true });
    await closeAll([daemon]);
  });

  it('does not take presence back from a newer daemon on another relay with its refreshes', async () => {
    const { a, b, bus } = await pair({ a: 'ws://relay-a.test/ws', b: 'ws://relay-b.test/ws' }, { RELAY_PRESENCE_SYNC_INTERVAL_MS: '20' });
    const old = await join(a, 'workspace-daemon');
    await waitFor(() => [...bus.presence.values()][0]?.relayId === 'relay-a');
    const current = await join(b, 'workspace-daemon');
    await waitFor(() => [...bus.presence.values()][0]?.relayId === 'relay-b');
    await waitFor(() => a.logLines.some((l) => l.includes('presence_held_elsewhere')), 2000, 'A to see B holding the scope');
    expect([...bus.presence.values()][0]?.relayId).toBe('relay-b');
    await closeAll([old]);
    expect([...bus.presence.values()][0]?.relayId).toBe('relay-b');
    await closeAll([current]);
  });
});

describe('client frames over the bus', () => {
  it('stay in order when lookups mix cache hits answered at once, store lookups that wait, and publish replies that come back out of order', async () => {
    const bus = new MemoryBus();
    const env = {
      RELAY_ADMISSION_MODE: 'jwks',
      RELAY_JWKS_URL: 'http://127.0.0.1:9/unused',
      RELAY_BACKPLANE_MODE: 'server',
      RELAY_INTERNAL_KEY: 'internal-key-for-tests',
      RELAY_BUS_HMAC_KEY: 'bus-key-for-tests',
      RELAY_CLIENT_REDIRECT_ENABLED: '0',
      ...UNLIMITED,
    };
    const a = await startTestRelay({ ...env, RELAY_ID: 'relay-a', RELAY_PUBLIC_WS_BASE_URL: 'ws://a.test/ws' }, { backplane: bus.connect('relay-a'), admission: { keySource: issuer.keySource } });
    relays.push(a);
    // Relay B: every fifth cache probe misses and the store answers after a few ms
    // (probes come from the hub's fast path and from the lookups it chains);
    // each publish is handed to the bus at once but its reply comes back after a
    // delay that shrinks, so later publishes answer before earlier ones.
    const inner = bus.connect('relay-b');
    let probes = 0;
    let storeLookups = 0;
    let known: PresenceRecord | undefined;
    let replyDelayMs = 20;
    const probe = () => (++probes % 5 === 0 ? undefined : known);
    const b = await startTestRelay(
      { ...env, RELAY_ID: 'relay-b', RELAY_PUBLIC_WS_BASE_URL: 'ws://b.test/ws' },
      {
        admission: { keySource: issuer.keySource },
        backplane: {
          ...inner,
          cachedPresence: probe,
          resolvePresence: async (scope) => {
            const cached = probe();
            if (cached) return cached;
            storeLookups += 1;
            await new Promise((r) => setTimeout(r, 3));
            known = (await inner.resolvePresence(scope)) ?? undefined;
            return known ?? null;
          },
          publish: (frame) => {
            const handed = inner.publish(frame);
            replyDelayMs = Math.max(0, replyDelayMs - 1);
            const delay = replyDelayMs;
            return handed.then((ok) => new Promise<boolean>((r) => setTimeout(() => r(ok), delay)));
          },
        },
      },
    );
    relays.push(b);
    const daemon = await join(a, 'workspace-daemon');
    const client = await join(b, 'client', { clientId: 'c' });
    await waitFor(() => bus.presence.size > 0, 5000, 'presence');
    await openSession(client, daemon, 'mixed');
    const n = 400;
    for (let seq = 1; seq <= n; seq++) {
      client.send(sequenced('mixed', seq));
      if (seq % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => seqsOf(daemon, 'mixed').length >= n, 10_000, 'all frames');
    expect(seqsOf(daemon, 'mixed')).toEqual(range(1, n));
    // Both paths were taken: some frames waited on the store, most did not.
    expect(storeLookups).toBeGreaterThan(1);
    expect(storeLookups).toBeLessThan(n / 2);
    await closeAll([daemon, client]);
  });
});
