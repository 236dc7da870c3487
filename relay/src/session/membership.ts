// Scope membership: a registered daemon takes its scope's slot (or is refused,
// or supersedes the incumbent), a client joins its scope, and either leaves it
// on close. Apart from the frame paths because it runs once per connection and
// owns the slot rules (docs/protocol.md#weak-daemon-takeover, docs/protocol.md#weak-generation-memory); the frame paths only read what it set up.
import type WebSocket from 'ws';
import type { Writable } from 'node:stream';
import type { Claims } from '../admission/claims.js';
import type { CrossCheck, QueryIds } from '../admission/cross-check.js';
import { CloseCode, CloseReason, relayStatus } from '../frames/index.js';
import { InboundBudget, type InboundRates } from '../limits/index.js';
import { decideDaemonSlot } from '../routing/daemon-slot.js';
import { allowedChannels } from '../routing/route.js';
import { forgetPeer, pruneScope } from '../routing/scope.js';
import type { ScopeRegistry } from '../routing/scope-registry.js';
import type { Outbox } from './outbox.js';
import { closePeer, isOpen, scopeOf, type Peer } from './peer.js';
import type { PresenceSync } from './presence-sync.js';

/** Admitted is everything the upgrade learned about a peer before the 101. */
export interface Admitted {
  readonly query: QueryIds;
  readonly ip: string;
  readonly claims: Claims;
  readonly check: CrossCheck;
  /** Generation recorded in presence for the scope (docs/protocol.md#weak-generation-memory), when known. */
  readonly persistedGeneration: number | null;
  /** Presence says the scope's daemon lives elsewhere: tell the client after registration (docs/protocol.md#redirect). */
  readonly redirectTo?: string | undefined;
  /** The upgraded socket under ws, so sends can be coalesced per turn (write-batch.ts). */
  readonly socket?: Writable | undefined;
}

/** newPeer is the peer record of an admitted socket; the cross-check decides its effective scope. */
export function newPeer(id: number, ws: WebSocket, admitted: Admitted, rates: InboundRates, now: number): Peer {
  const { query, claims, check } = admitted;
  return {
    id,
    role: query.role,
    ws,
    ip: admitted.ip,
    workspaceId: check.ok ? check.workspaceId : query.workspaceId,
    runtimeTargetId: check.ok ? check.runtimeTargetId : undefined,
    claims,
    clientScope: check.ok ? check.clientScope : undefined,
    clientId: claims.clientId ?? 'client_unknown',
    sender:
      check.ok && check.clientScope !== undefined
        ? {
            scope: check.clientScope,
            e2eeProfile: claims.e2eeProfile,
            sessionChannels: allowedChannels(claims.sessionChannels),
            userId: claims.userId,
          }
        : undefined,
    connectedAt: now,
    lastActivityAt: now,
    lastPingAt: now,
    pingOutstanding: false,
    closing: false,
    budget: new InboundBudget(rates, now),
    throttled: false,
    expiry: undefined,
    socket: admitted.socket,
    corked: false,
    scope: undefined,
  };
}

/** Membership puts daemons and clients into their scopes and takes them out. */
export class Membership {
  constructor(
    private readonly scopes: ScopeRegistry<Peer>,
    private readonly out: Outbox,
    private readonly presence: PresenceSync,
  ) {}

  /** joinAsDaemon takes the scope's daemon slot, or refuses the peer (docs/protocol.md#weak-daemon-takeover, docs/protocol.md#weak-generation-memory). */
  joinAsDaemon(peer: Peer, persistedGeneration: number | null, now: number): void {
    const scope = scopeOf(peer, this.scopes, now);
    const incumbent = scope.daemon;
    const decision = decideDaemonSlot({
      incumbentOpen: incumbent !== null && isOpen(incumbent),
      storedGeneration: scope.daemonGeneration,
      persistedGeneration,
      generation: peer.claims.daemonIssueGeneration,
    });
    if (decision.action === 'refuse') {
      this.out.report(`refused:${decision.reason}`, peer);
      return;
    }
    if (decision.action === 'supersede' && incumbent !== null) {
      this.out.log('info', 'daemon_superseded', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
      closePeer(incumbent, CloseCode.policy, CloseReason.superseded);
    }
    scope.daemon = peer;
    peer.scope = scope;
    scope.daemonGeneration = peer.claims.daemonIssueGeneration ?? scope.daemonGeneration;
    scope.kexRequests.clear();
    scope.sessionOwners.clear();
    scope.lastActivityAt = now;
    pruneScope(scope, now);
    this.out.log('info', 'daemon_connected', {
      workspaceId: scope.workspaceId,
      runtimeTargetId: scope.runtimeTargetId,
      generation: scope.daemonGeneration,
    });
    this.presence.announce(scope, peer);
  }

  /** joinAsClient adds the client to its scope and sends the redirect the upgrade found (docs/protocol.md#redirect). */
  joinAsClient(peer: Peer, redirectTo: string | undefined, now: number): void {
    const scope = scopeOf(peer, this.scopes, now);
    scope.clients.add(peer);
    peer.scope = scope;
    scope.lastActivityAt = now;
    pruneScope(scope, now);
    if (redirectTo !== undefined) {
      this.out.report('client_redirected');
      this.out.send(peer, relayStatus('RELAY_REDIRECT', peer.workspaceId, { relayWsBaseUrl: redirectTo }));
    }
  }

  /** leave takes a closed client or daemon out of its scope; a daemon's requests and sessions go with it. */
  leave(peer: Peer, now: number): void {
    if (peer.role === 'client') {
      const scope = this.scopes.get(peer.workspaceId, peer.runtimeTargetId);
      if (scope) {
        forgetPeer(scope, peer);
        scope.lastActivityAt = now;
      }
    } else if (peer.role === 'workspace-daemon') {
      const scope = this.scopes.get(peer.workspaceId, peer.runtimeTargetId);
      if (scope && scope.daemon === peer) {
        scope.daemon = null;
        scope.kexRequests.clear();
        scope.pairingRequests.clear();
        scope.sessionOwners.clear();
        scope.lastActivityAt = now;
        this.out.log('info', 'daemon_disconnected', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
        this.presence.withdraw(scope);
      }
    }
  }
}
