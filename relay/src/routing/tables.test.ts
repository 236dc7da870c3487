import { describe, expect, it } from 'vitest';
import { decideDaemonSlot } from './daemon-slot.js';
import { connectedPresence, isRedirectUrlAllowed, shouldRedirect, usablePresence } from './redirect-policy.js';
import { ScopeRegistry } from './scope-registry.js';
import { forgetPeer, isEvictable, newScope, sameOwner, type Owner } from './scope.js';
import { TrackingTable } from './tracking-table.js';

const limits = { requestTtlMs: 100, sessionOwnerTtlMs: 100, requestTrackMax: 3, sessionOwnerTrackMax: 3 };

describe('TrackingTable', () => {
  it('expires entries after the TTL, evicts the oldest past the cap, answers take() once', () => {
    const t = new TrackingTable<string>(100, 2);
    t.set('a', 'A', 0);
    t.set('b', 'B', 10);
    t.set('c', 'C', 20);
    expect(t.get('a', 21)).toBeUndefined();
    expect(t.take('b', 21)).toBe('B');
    expect(t.take('b', 21)).toBeUndefined();
    expect(t.get('c', 120)).toBeUndefined();
  });

  it('touch restarts the TTL and prune stops at the first live entry', () => {
    const t = new TrackingTable<string>(100, 10);
    t.set('a', 'A', 0);
    t.set('b', 'B', 50);
    t.touch('a', 90);
    t.prune(160);
    expect(t.size).toBe(1);
    expect(t.get('a', 160)).toBe('A');
  });
});

describe('TrackingTable.claim: the first writer wins (issue 22, item 9)', () => {
  const alice: Owner<string> = { kind: 'local', peer: 'alice' };
  const mallory: Owner<string> = { kind: 'local', peer: 'mallory' };
  const relayB: Owner<string> = { kind: 'remote', relayId: 'relay-b' };

  it('refuses a live key held by another owner and keeps the first', () => {
    const t = new TrackingTable<Owner<string>>(100, 10);
    expect(t.claim('r', alice, 0, sameOwner)).toBe(true);
    expect(t.claim('r', mallory, 10, sameOwner)).toBe(false);
    expect(t.claim('r', relayB, 10, sameOwner)).toBe(false);
    expect(t.get('r', 10)).toBe(alice);
  });

  it('lets the same owner repeat (a refresh), and anyone claim an expired or taken key', () => {
    const t = new TrackingTable<Owner<string>>(100, 10);
    t.claim('r', alice, 0, sameOwner);
    expect(t.claim('r', { kind: 'local', peer: 'alice' }, 50, sameOwner)).toBe(true);
    expect(t.claim('r', mallory, 149, sameOwner)).toBe(false);
    expect(t.claim('r', mallory, 150, sameOwner)).toBe(true);
    t.take('r', 151);
    expect(t.claim('r', relayB, 152, sameOwner)).toBe(true);
    expect(t.claim('r', { kind: 'remote', relayId: 'relay-b' }, 153, sameOwner)).toBe(true);
  });
});

describe('ScopeRegistry', () => {
  it('keys on the pair, so joined ids never collide (docs/protocol.md#weak-scope-key)', () => {
    const r = new ScopeRegistry<string>(limits);
    const x = r.ensure('a:b', undefined, 0);
    const y = r.ensure('a', 'b', 0);
    expect(x).not.toBe(y);
    expect(r.get('a:b', undefined)).toBe(x);
    expect(r.get('a', 'b')).toBe(y);
    expect(r.size).toBe(2);
    r.delete(x);
    expect(r.get('a:b', undefined)).toBeUndefined();
    expect(r.size).toBe(1);
  });

  it('counts scopes as they come and go; a stale scope cannot remove its successor', () => {
    const r = new ScopeRegistry<string>(limits);
    const a = r.ensure('w', 't', 0);
    expect(r.ensure('w', 't', 5)).toBe(a);
    r.ensure('w', undefined, 0);
    r.ensure('v', 't', 0);
    expect(r.size).toBe(3);
    r.delete(a);
    r.delete(a);
    expect(r.size).toBe(2);
    const successor = r.ensure('w', 't', 10);
    r.delete(a);
    expect(r.get('w', 't')).toBe(successor);
    expect(r.size).toBe(3);
    expect([...r.all()].length).toBe(3);
  });

  it('evicts only empty, quiet scopes; forgetPeer removes a client everywhere', () => {
    const s = newScope<string>('w', 't', limits, 0);
    s.clients.add('c');
    s.subscribers.set('agent-session:a', new Set(['c']));
    s.sessionOwners.set('s', { kind: 'local', peer: 'c' }, 0);
    expect(isEvictable(s, 1000, 100)).toBe(false);
    forgetPeer(s, 'c');
    expect(s.subscribers.size + s.sessionOwners.size + s.clients.size).toBe(0);
    expect(isEvictable(s, 50, 100)).toBe(false);
    expect(isEvictable(s, 100, 100)).toBe(true);
  });
});

describe('decideDaemonSlot', () => {
  it.each([
    ['free slot', { incumbentOpen: false, storedGeneration: null, persistedGeneration: null, generation: undefined }, { action: 'accept' }],
    ['incumbent, no generations', { incumbentOpen: true, storedGeneration: null, persistedGeneration: null, generation: undefined }, { action: 'refuse', reason: 'daemon already connected' }],
    ['higher generation supersedes (docs/protocol.md#weak-daemon-takeover)', { incumbentOpen: true, storedGeneration: 1, persistedGeneration: null, generation: 2 }, { action: 'supersede' }],
    ['equal generation refused', { incumbentOpen: true, storedGeneration: 2, persistedGeneration: null, generation: 2 }, { action: 'refuse', reason: 'daemon already connected' }],
    ['stale vs memory', { incumbentOpen: false, storedGeneration: 3, persistedGeneration: null, generation: 2 }, { action: 'refuse', reason: 'stale daemon generation' }],
    ['stale vs presence (docs/protocol.md#weak-generation-memory)', { incumbentOpen: false, storedGeneration: null, persistedGeneration: 5, generation: 4 }, { action: 'refuse', reason: 'stale daemon generation' }],
    ['no claim is never stale', { incumbentOpen: false, storedGeneration: 3, persistedGeneration: 5, generation: undefined }, { action: 'accept' }],
  ] as const)('%s', (_n, input, expected) => {
    expect(decideDaemonSlot(input)).toEqual(expected);
  });
});

describe('redirect policy', () => {
  const dev = { prod: false, allowedHosts: [], ownPublicUrl: 'wss://relay-0.example.com/ws', tlsHost: 'relay.example.com' };
  const prod = { ...dev, prod: true };
  it.each([
    ['ws in dev', 'ws://r.test/ws', dev, true],
    ['ws in prod', 'ws://relay-0.example.com/ws', prod, false],
    ['own host in prod', 'wss://relay-0.example.com/ws', prod, true],
    ['tls host in prod', 'wss://relay.example.com/ws', prod, true],
    ['foreign host in prod', 'wss://evil.example.net/ws', prod, false],
    ['userinfo', 'wss://u:p@relay.example.com/ws', dev, false],
    ['query', 'wss://relay.example.com/ws?x=1', dev, false],
    ['fragment', 'wss://relay.example.com/ws#x', dev, false],
    ['http scheme', 'https://relay.example.com/ws', dev, false],
    ['not a URL', 'nope', dev, false],
    ['allow-list hit', 'wss://pod-1.relay.svc/ws', { ...prod, allowedHosts: ['pod-1.relay.svc'] }, true],
    ['allow-list miss', 'wss://pod-2.relay.svc/ws', { ...prod, allowedHosts: ['pod-1.relay.svc'] }, false],
  ] as const)('%s', (_n, url, policy, expected) => {
    expect(isRedirectUrlAllowed(url, policy)).toBe(expected);
  });

  it('uses only connected records with ids and a valid URL, never redirects to self (docs/protocol.md#weak-redirect-loop)', () => {
    const rec = { workspaceId: 'w', relayId: 'b', relayWsBaseUrl: 'ws://b.test/ws', daemonConnected: true, updatedAtMs: 0 };
    expect(usablePresence(rec, dev)).toBe(rec);
    expect(usablePresence({ ...rec, daemonConnected: false }, dev)).toBeNull();
    expect(usablePresence({ ...rec, relayId: '' }, dev)).toBeNull();
    // The bus ignores the URL policy; only redirects obey it.
    expect(usablePresence(rec, prod)).toBeNull();
    expect(connectedPresence(rec)).toBe(rec);
    expect(connectedPresence({ ...rec, daemonConnected: false })).toBeNull();
    expect(shouldRedirect(rec, 'a', 'ws://a.test/ws')).toBe(true);
    expect(shouldRedirect(rec, 'a', 'ws://b.test/ws')).toBe(false);
    expect(shouldRedirect(rec, 'b', 'ws://a.test/ws')).toBe(false);
  });
});
