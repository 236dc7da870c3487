// Pure routing decisions (docs/protocol.md#routing-client, docs/protocol.md#routing-daemon,
// docs/protocol.md#client-scopes, docs/protocol.md#session-events): (frame,
// sender, tables) → decision. The session layer applies decisions to sockets,
// limiters and the bus; nothing here does I/O or reads the clock.
import {
  CloseReason,
  isPairingKind,
  isSessionEventKind,
  SESSION_CHANNEL_PREFIX,
  type ClientFrame,
  type DaemonFrame,
  type Profile,
  type RelayCloseReason,
  isStrongerOrEqualProfile,
} from '../frames/index.js';
import type { Owner, ScopeState } from './scope.js';

export type ClientScopeName = 'runtime' | 'pairing' | 'session-events';
export type LimiterName = 'kex' | 'pairing' | 'runtime';

/** ClientSender is what routing needs to know about a client: its scope and claims. */
export interface ClientSender {
  readonly scope: ClientScopeName;
  readonly e2eeProfile?: Profile | undefined;
  /** Trimmed sessionChannels claims that start with agent-session:. */
  readonly sessionChannels: ReadonlySet<string>;
  readonly userId?: string | undefined;
}

/** ClientCheck is the verdict on a client frame before any limiter or table is touched. */
export type ClientCheck =
  | { readonly action: 'status'; readonly code: 'INVALID_FRAME' | 'SESSION_EVENTS_SCOPE_ONLY' }
  | { readonly action: 'close'; readonly reason: RelayCloseReason; readonly cause: 'scope' | 'profile' }
  | { readonly action: 'subscribe' | 'unsubscribe' | 'presence'; readonly channel: string; readonly allowed: boolean }
  | {
      readonly action: 'route';
      readonly limiter: LimiterName;
      /** Record the sender as owner of this request id before forwarding. */
      readonly track?: { readonly table: 'kex' | 'pairing'; readonly requestId: string };
      /** e2ee: the session the sender must own (docs/protocol.md#weak-session-ownership). */
      readonly sessionId?: string;
    };

// Most clients have no session channels; they share one empty set instead of a Set each.
const NO_CHANNELS: ReadonlySet<string> = new Set<string>();

/** allowedChannels extracts the usable session channels from a sessionChannels claim. */
export function allowedChannels(claim: readonly string[] | undefined): ReadonlySet<string> {
  if (claim === undefined || claim.length === 0) return NO_CHANNELS;
  const out = new Set<string>();
  for (const c of claim) {
    const t = c.trim();
    if (t.startsWith(SESSION_CHANNEL_PREFIX)) out.add(t);
  }
  return out;
}

/** checkClientFrame applies steps 2-9 of docs/protocol.md#routing-client that need no state: validity, scope, profile, which limiter. */
export function checkClientFrame(frame: ClientFrame | null, sender: ClientSender): ClientCheck {
  if (frame === null) return { action: 'status', code: 'INVALID_FRAME' };
  if (sender.scope === 'session-events') {
    if (!isSessionEventKind(frame.kind)) return { action: 'status', code: 'SESSION_EVENTS_SCOPE_ONLY' };
    const channel = frame.channel ?? '';
    let allowed = sender.sessionChannels.has(channel);
    // Presence userId is bound to the token when the token names a user (docs/protocol.md#weak-session-events).
    if (frame.kind === 'viewer_presence' && sender.userId !== undefined && frame.userId !== sender.userId) allowed = false;
    const action = frame.kind === 'session_subscribe' ? 'subscribe' : frame.kind === 'session_unsubscribe' ? 'unsubscribe' : 'presence';
    return { action, channel, allowed };
  }
  if (isSessionEventKind(frame.kind)) {
    return { action: 'close', reason: CloseReason.sessionEventsScopeRequired, cause: 'scope' };
  }
  const pairing = isPairingKind(frame.kind);
  if (sender.scope === 'runtime' && pairing) return { action: 'close', reason: CloseReason.runtimeScopeOnly, cause: 'scope' };
  if (sender.scope === 'pairing' && !pairing) return { action: 'close', reason: CloseReason.pairingScopeOnly, cause: 'scope' };
  if (sender.e2eeProfile !== undefined && frame.profile !== undefined && frame.profile !== sender.e2eeProfile) {
    return { action: 'close', reason: CloseReason.clientProfileMismatch, cause: 'profile' };
  }
  switch (frame.kind) {
    case 'kex_init': {
      // docs/protocol.md#weak-control-frames: a kex init without a requestId could never be answered; say so instead of forwarding it.
      const requestId = frame.requestId ?? '';
      if (requestId === '') return { action: 'status', code: 'INVALID_FRAME' };
      return { action: 'route', limiter: 'kex', track: { table: 'kex', requestId } };
    }
    case 'e2ee':
      return { action: 'route', limiter: 'runtime', sessionId: frame.sessionId ?? '' };
    default:
      return { action: 'route', limiter: 'pairing', track: { table: 'pairing', requestId: frame.requestId ?? '' } };
  }
}

/** ownsSession: the sender is the recorded local owner of sessionId (docs/protocol.md#weak-session-ownership). */
export function ownsSession<P>(scope: ScopeState<P>, sessionId: string, sender: P, now: number): boolean {
  const owner = scope.sessionOwners.get(sessionId, now);
  return owner !== undefined && owner.kind === 'local' && owner.peer === sender;
}

/** ClientDelivery says where a checked client frame goes once limiters passed. */
export type ClientDelivery<P> =
  | { readonly kind: 'daemon'; readonly daemon: P }
  | { readonly kind: 'target_required' }
  | { readonly kind: 'lookup' };

/** deliverClientFrame applies docs/protocol.md#routing-client steps 10-11: the local OPEN daemon, else the no-daemon path of docs/protocol.md#no-local-daemon. */
export function deliverClientFrame<P>(scope: ScopeState<P>, isOpen: (p: P) => boolean): ClientDelivery<P> {
  if (scope.daemon !== null && isOpen(scope.daemon)) return { kind: 'daemon', daemon: scope.daemon };
  if (scope.runtimeTargetId === undefined) return { kind: 'target_required' };
  return { kind: 'lookup' };
}

/** Delivery is where one daemon→client frame goes. */
export type Delivery<P> =
  | { readonly kind: 'local'; readonly peer: P }
  | { readonly kind: 'bus'; readonly relayId: string }
  | { readonly kind: 'drop' };

function deliverTo<P>(owner: Owner<P> | undefined, scope: ScopeState<P>, isOpen: (p: P) => boolean): Delivery<P> {
  if (owner === undefined) return { kind: 'drop' };
  if (owner.kind === 'local') return isOpen(owner.peer) ? { kind: 'local', peer: owner.peer } : { kind: 'drop' };
  return scope.runtimeTargetId !== undefined ? { kind: 'bus', relayId: owner.relayId } : { kind: 'drop' };
}

/** DaemonRoute is the decision for one valid daemon (or bus daemon→clients) frame. */
export type DaemonRoute<P> =
  | { readonly action: 'close'; readonly reason: RelayCloseReason }
  | { readonly action: 'deliver'; readonly family: 'kex' | 'pairing' | 'session'; readonly delivery: Delivery<P> }
  | { readonly action: 'fanout'; readonly channel: string; readonly recipients: readonly P[] };

/** checkDaemonProfile: a daemon frame may not be weaker than the daemon's e2eeProfile claim (docs/protocol.md#routing-daemon). */
export function checkDaemonProfile(frame: DaemonFrame, claimed: Profile | undefined): RelayCloseReason | null {
  if (claimed === undefined || frame.profile === undefined) return null;
  return isStrongerOrEqualProfile(frame.profile, claimed) ? null : CloseReason.daemonProfileMismatch;
}

/**
 * routeDaemonFrame dispatches per docs/protocol.md#routing-daemon: responses go only to the recorded
 * requester (taken once), a kex response records the session owner, session
 * frames follow the owner (refreshing its TTL, docs/protocol.md#weak-session-ttl), session events fan out to
 * the channel's subscribers in this scope (docs/protocol.md#weak-session-events). Never a broadcast.
 */
export function routeDaemonFrame<P>(frame: DaemonFrame, scope: ScopeState<P>, isOpen: (p: P) => boolean, now: number): DaemonRoute<P> {
  switch (frame.kind) {
    case 'pairing_offer_response':
    case 'pairing_redeem_response': {
      const owner = scope.pairingRequests.take(frame.requestId ?? '', now);
      return { action: 'deliver', family: 'pairing', delivery: deliverTo(owner, scope, isOpen) };
    }
    case 'kex_response': {
      const requestId = frame.requestId ?? '';
      const sessionId = frame.sessionId ?? '';
      if (requestId === '' || sessionId === '') return { action: 'deliver', family: 'kex', delivery: { kind: 'drop' } };
      const owner = scope.kexRequests.take(requestId, now);
      if (owner !== undefined) scope.sessionOwners.set(sessionId, owner, now);
      return { action: 'deliver', family: 'kex', delivery: deliverTo(owner, scope, isOpen) };
    }
    case 'e2ee':
    case 'key_update': {
      const sessionId = frame.sessionId ?? '';
      const owner = scope.sessionOwners.get(sessionId, now);
      if (owner !== undefined) scope.sessionOwners.touch(sessionId, now);
      return { action: 'deliver', family: 'session', delivery: deliverTo(owner, scope, isOpen) };
    }
    case 'session_event_relay': {
      const channel = frame.channel ?? '';
      const recipients = [...(scope.subscribers.get(channel) ?? [])].filter(isOpen);
      return { action: 'fanout', channel, recipients };
    }
  }
}

/** presenceRecipients: every OPEN local subscriber of the channel except the sender (docs/protocol.md#session-events). */
export function presenceRecipients<P>(scope: ScopeState<P>, channel: string, sender: P, isOpen: (p: P) => boolean): P[] {
  return [...(scope.subscribers.get(channel) ?? [])].filter((p) => p !== sender && isOpen(p));
}
