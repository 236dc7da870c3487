import { describe, expect, it } from 'vitest';
import type { ClientFrame, DaemonFrame } from '../frames/index.js';
import { allowedChannels, checkClientFrame, checkDaemonProfile, deliverClientFrame, ownsSession, routeDaemonFrame, type ClientSender } from './route.js';
import { newScope, type ScopeState } from './scope.js';

const limits = { requestTtlMs: 120_000, sessionOwnerTtlMs: 1_800_000, requestTrackMax: 4, sessionOwnerTrackMax: 4 };
const sender = (scope: ClientSender['scope'], extra: Partial<ClientSender> = {}): ClientSender => ({
  scope,
  sessionChannels: new Set(['agent-session:a']),
  ...extra,
});
const f = (kind: ClientFrame['kind'], extra: Partial<ClientFrame> = {}): ClientFrame => ({ kind, ...extra });
type P = { name: string };
const open = () => true;

describe('checkClientFrame', () => {
  it.each([
    ['invalid frame', null, sender('runtime'), { action: 'status', code: 'INVALID_FRAME' }],
    ['session-events client sends e2ee', f('e2ee', { sessionId: 's' }), sender('session-events'), { action: 'status', code: 'SESSION_EVENTS_SCOPE_ONLY' }],
    ['runtime client subscribes', f('session_subscribe', { channel: 'agent-session:a' }), sender('runtime'), { action: 'close', reason: 'session-events scope required', cause: 'scope' }],
    ['runtime client pairs', f('pairing_offer_request', { requestId: 'r' }), sender('runtime'), { action: 'close', reason: 'runtime scope only', cause: 'scope' }],
    ['pairing client kex', f('kex_init', { requestId: 'r', profile: 'noise-ik' }), sender('pairing'), { action: 'close', reason: 'pairing scope only', cause: 'scope' }],
    ['profile differs from claim', f('e2ee', { sessionId: 's', profile: 'noise-ikpsk2' }), sender('runtime', { e2eeProfile: 'noise-ik' }), { action: 'close', reason: 'client frame profile mismatch', cause: 'profile' }],
    ['kex with request id', f('kex_init', { requestId: 'r', profile: 'noise-ik' }), sender('runtime'), { action: 'route', limiter: 'kex', track: { table: 'kex', requestId: 'r' } }],
    ['kex with an empty request id is refused (docs/protocol.md#weak-control-frames)', f('kex_init', { requestId: '', profile: 'noise-ik' }), sender('runtime'), { action: 'status', code: 'INVALID_FRAME' }],
    ['e2ee', f('e2ee', { sessionId: 's', profile: 'noise-ik' }), sender('runtime', { e2eeProfile: 'noise-ik' }), { action: 'route', limiter: 'runtime', sessionId: 's' }],
    ['pairing request', f('pairing_redeem_request', { requestId: 'p' }), sender('pairing'), { action: 'route', limiter: 'pairing', track: { table: 'pairing', requestId: 'p' } }],
    ['allowed subscribe', f('session_subscribe', { channel: 'agent-session:a' }), sender('session-events'), { action: 'subscribe', channel: 'agent-session:a', allowed: true }],
    ['foreign unsubscribe', f('session_unsubscribe', { channel: 'agent-session:b' }), sender('session-events'), { action: 'unsubscribe', channel: 'agent-session:b', allowed: false }],
    ['presence as self', f('viewer_presence', { channel: 'agent-session:a', userId: 'u' }), sender('session-events', { userId: 'u' }), { action: 'presence', channel: 'agent-session:a', allowed: true }],
    ['presence spoofing another user (docs/protocol.md#weak-session-events)', f('viewer_presence', { channel: 'agent-session:a', userId: 'v' }), sender('session-events', { userId: 'u' }), { action: 'presence', channel: 'agent-session:a', allowed: false }],
  ] as const)('%s', (_name, frame, s, expected) => {
    expect(checkClientFrame(frame as ClientFrame | null, s)).toEqual(expected);
  });

  it('allowedChannels keeps only trimmed agent-session: channels', () => {
    expect([...allowedChannels([' agent-session:a ', 'other', 'agent-session:b'])]).toEqual(['agent-session:a', 'agent-session:b']);
  });
});

describe('routeDaemonFrame', () => {
  const make = () => newScope<P>('w', 't', limits, 0);
  const d = (kind: DaemonFrame['kind'], extra: Partial<DaemonFrame> = {}): DaemonFrame => ({ kind, ...extra });

  it('answers a kex response once, to its requester, and records the session owner', () => {
    const scope = make();
    const alice = { name: 'alice' };
    scope.kexRequests.set('r', { kind: 'local', peer: alice }, 0);
    expect(routeDaemonFrame(d('kex_response', { requestId: 'r', sessionId: 's' }), scope, open, 1)).toEqual({ action: 'deliver', family: 'kex', delivery: { kind: 'local', peer: alice } });
    expect(routeDaemonFrame(d('kex_response', { requestId: 'r', sessionId: 's' }), scope, open, 2)).toEqual({ action: 'deliver', family: 'kex', delivery: { kind: 'drop' } });
    expect(ownsSession(scope, 's', alice, 3)).toBe(true);
    expect(routeDaemonFrame(d('e2ee', { sessionId: 's' }), scope, open, 4)).toMatchObject({ delivery: { kind: 'local', peer: alice } });
  });

  it('routes to a remote owner over the bus, drops unknown sessions and closed owners', () => {
    const scope = make();
    scope.sessionOwners.set('remote', { kind: 'remote', relayId: 'relay-b' }, 0);
    scope.sessionOwners.set('gone', { kind: 'local', peer: { name: 'bob' } }, 0);
    expect(routeDaemonFrame(d('key_update', { sessionId: 'remote' }), scope, open, 1)).toMatchObject({ delivery: { kind: 'bus', relayId: 'relay-b' } });
    expect(routeDaemonFrame(d('e2ee', { sessionId: 'nobody' }), scope, open, 1)).toMatchObject({ delivery: { kind: 'drop' } });
    expect(routeDaemonFrame(d('e2ee', { sessionId: 'gone' }), scope, () => false, 1)).toMatchObject({ delivery: { kind: 'drop' } });
  });

  it('keeps a session route alive while it is used (docs/protocol.md#weak-session-ttl)', () => {
    const scope = make();
    const alice = { name: 'alice' };
    scope.sessionOwners.set('s', { kind: 'local', peer: alice }, 0);
    routeDaemonFrame(d('e2ee', { sessionId: 's' }), scope, open, 1_700_000);
    expect(ownsSession(scope, 's', alice, 3_000_000)).toBe(true);
    expect(ownsSession(scope, 's', alice, 3_600_000)).toBe(false);
  });

  it('fans session events out to OPEN subscribers of the channel only', () => {
    const scope = make();
    const a = { name: 'a' };
    const b = { name: 'b' };
    scope.subscribers.set('agent-session:x', new Set([a, b]));
    expect(routeDaemonFrame(d('session_event_relay', { channel: 'agent-session:x' }), scope, (p) => p !== b, 0)).toEqual({ action: 'fanout', channel: 'agent-session:x', recipients: [a] });
    expect(routeDaemonFrame(d('session_event_relay', { channel: 'agent-session:y' }), scope, open, 0)).toEqual({ action: 'fanout', channel: 'agent-session:y', recipients: [] });
  });

  it.each([
    ['weaker than claim', 'noise-ik', 'noise-ikpsk2', 'daemon frame profile mismatch'],
    ['equal', 'noise-ik', 'noise-ik', null],
    ['stronger', 'noise-ikpsk2', 'noise-ik', null],
    ['no claim', 'noise-ik', undefined, null],
  ] as const)('daemon profile %s', (_n, frameProfile, claim, expected) => {
    expect(checkDaemonProfile(d('e2ee', { profile: frameProfile }), claim)).toBe(expected);
  });
});

describe('deliverClientFrame', () => {
  it('prefers the OPEN local daemon, else needs a target, else looks up presence', () => {
    const withDaemon: ScopeState<P> = newScope<P>('w', 't', limits, 0);
    withDaemon.daemon = { name: 'd' };
    expect(deliverClientFrame(withDaemon, open)).toEqual({ kind: 'daemon', daemon: { name: 'd' } });
    expect(deliverClientFrame(withDaemon, () => false)).toEqual({ kind: 'lookup' });
    expect(deliverClientFrame(newScope<P>('w', undefined, limits, 0), open)).toEqual({ kind: 'target_required' });
  });
});
