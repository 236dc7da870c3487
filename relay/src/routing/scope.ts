// The in-memory state of one scope (docs/protocol.md#scope): the pair (workspaceId,
// runtimeTargetId?), its daemon, clients, subscriptions and tracking tables.
// Generic over the peer handle P so routing never touches a socket.
import { TrackingTable } from './tracking-table.js';

/** Owner is who asked for a response: a local peer, or a peer on another relay (bus). */
export type Owner<P> = { readonly kind: 'local'; readonly peer: P } | { readonly kind: 'remote'; readonly relayId: string };

/** sameOwner: the same local peer, or the same sending relay (a tracking table's `claim` test). */
export function sameOwner<P>(a: Owner<P>, b: Owner<P>): boolean {
  return a.kind === 'local' ? b.kind === 'local' && a.peer === b.peer : b.kind === 'remote' && a.relayId === b.relayId;
}

/** ScopeState is one scope's mutable state; only the relay's event loop mutates it. */
export interface ScopeState<P> {
  readonly workspaceId: string;
  readonly runtimeTargetId: string | undefined;
  daemon: P | null;
  daemonGeneration: number | null;
  readonly clients: Set<P>;
  readonly subscribers: Map<string, Set<P>>;
  readonly kexRequests: TrackingTable<Owner<P>>;
  readonly pairingRequests: TrackingTable<Owner<P>>;
  readonly sessionOwners: TrackingTable<Owner<P>>;
  lastActivityAt: number;
}

/** TableLimits are the tracking-table TTLs and caps of docs/protocol.md#tracking-tables. */
export interface TableLimits {
  readonly requestTtlMs: number;
  readonly sessionOwnerTtlMs: number;
  readonly requestTrackMax: number;
  readonly sessionOwnerTrackMax: number;
}

export const REQUEST_TTL_MS = 2 * 60_000;
export const SESSION_OWNER_TTL_MS = 30 * 60_000;

/** newScope builds an empty scope. Kex tracking reuses the pairing cap, as the reference does (docs/protocol.md#kept-quirks). */
export function newScope<P>(workspaceId: string, runtimeTargetId: string | undefined, limits: TableLimits, now: number): ScopeState<P> {
  return {
    workspaceId,
    runtimeTargetId,
    daemon: null,
    daemonGeneration: null,
    clients: new Set(),
    subscribers: new Map(),
    kexRequests: new TrackingTable(limits.requestTtlMs, limits.requestTrackMax),
    pairingRequests: new TrackingTable(limits.requestTtlMs, limits.requestTrackMax),
    sessionOwners: new TrackingTable(limits.sessionOwnerTtlMs, limits.sessionOwnerTrackMax),
    lastActivityAt: now,
  };
}

/** pruneScope drops expired tracking entries. */
export function pruneScope<P>(scope: ScopeState<P>, now: number): void {
  scope.kexRequests.prune(now);
  scope.pairingRequests.prune(now);
  scope.sessionOwners.prune(now);
}

/** forgetPeer removes a closing client's table entries and subscriptions (docs/protocol.md#tracking-tables). */
export function forgetPeer<P>(scope: ScopeState<P>, peer: P): void {
  scope.clients.delete(peer);
  const mine = (o: Owner<P>) => o.kind === 'local' && o.peer === peer;
  scope.kexRequests.removeWhere(mine);
  scope.pairingRequests.removeWhere(mine);
  scope.sessionOwners.removeWhere(mine);
  for (const [channel, set] of scope.subscribers) {
    set.delete(peer);
    if (set.size === 0) scope.subscribers.delete(channel);
  }
}

/** isEvictable: no daemon, no clients, no subscribers, quiet for ttl (docs/protocol.md#eviction). */
export function isEvictable<P>(scope: ScopeState<P>, now: number, ttlMs: number): boolean {
  return scope.daemon === null && scope.clients.size === 0 && scope.subscribers.size === 0 && now - scope.lastActivityAt >= ttlMs;
}
