// Presence sync (docs/protocol.md#presence): this relay announces the daemons it holds, keeps
// the announcements fresh, removes them when a daemon leaves, and resolves
// where another scope's daemon lives. Apart from the frame paths because it
// talks only to the backplane, on its own timer or on a daemon's arrival and
// departure, never per frame.
import type { Backplane } from '../backplane/backplane.js';
import type { PresenceRecord } from '../bus/types.js';
import type { Config } from '../config/index.js';
import type { ScopeState } from '../routing/scope.js';
import type { Outbox } from './outbox.js';
import { isOpen, type Peer } from './peer.js';

/** PresenceSyncDeps: the backplane option group, this relay's identity, and the outbox for background work. */
export interface PresenceSyncDeps {
  readonly backplaneConfig: Config['backplane'];
  readonly self: Pick<Config, 'relayId' | 'publicWsBaseUrl'>;
  readonly backplane: Backplane;
  readonly out: Outbox;
  readonly now: () => number;
}

/** PresenceSync writes and reads the presence records of this relay's scopes. */
export class PresenceSync {
  constructor(private readonly deps: PresenceSyncDeps) {}

  /** announce records that scope's daemon is connected here (when presence sync is on). */
  announce(scope: ScopeState<Peer>, daemon: Peer): void {
    const { backplaneConfig, self, backplane, out } = this.deps;
    if (!backplaneConfig.presenceSyncEnabled) return;
    out.background(
      backplane.upsertPresence({
        workspaceId: scope.workspaceId,
        runtimeTargetId: scope.runtimeTargetId,
        relayId: self.relayId,
        relayWsBaseUrl: self.publicWsBaseUrl,
        daemonConnected: true,
        machineId: daemon.claims.machineId,
        daemonIssueGeneration: scope.daemonGeneration ?? undefined,
        updatedAtMs: this.deps.now(),
      }),
      'presence_upsert',
    );
  }

  /** withdraw removes this relay's record for a scope whose daemon left (when presence sync is on). */
  withdraw(scope: ScopeState<Peer>): void {
    const { backplaneConfig, self, backplane, out } = this.deps;
    if (!backplaneConfig.presenceSyncEnabled) return;
    out.background(backplane.removePresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId }, self.relayId), 'presence_remove');
  }

  /**
   * sync re-announces every OPEN daemon (docs/protocol.md#presence refresh, machineId included),
   * unless another relay now holds the scope: a daemon that reconnected elsewhere
   * must not be overwritten by this relay's older one.
   */
  sync(scopes: Iterable<ScopeState<Peer>>): void {
    for (const scope of scopes) {
      const daemon = scope.daemon;
      if (daemon !== null && isOpen(daemon)) this.deps.out.background(this.refresh(scope, daemon), 'presence_refresh');
    }
  }

  /** resolve is the scope's presence record, or null when there is none or the lookup failed. */
  async resolve(scope: ScopeState<Peer>): Promise<PresenceRecord | null> {
    try {
      return await this.deps.backplane.resolvePresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
    } catch {
      return null;
    }
  }

  private async refresh(scope: ScopeState<Peer>, daemon: Peer): Promise<void> {
    const current = await this.resolve(scope);
    const relayId = this.deps.self.relayId;
    if (current !== null && current.daemonConnected && current.relayId !== '' && current.relayId !== relayId) {
      // Another relay holds the scope. With two distinct generations the backplane
      // refuses the stale write, so try; otherwise we cannot tell who is newer: do not fight.
      const ours = daemon.claims.daemonIssueGeneration;
      const theirs = current.daemonIssueGeneration;
      if (ours === undefined || theirs === undefined || ours === theirs) {
        this.deps.out.log('info', 'presence_held_elsewhere', { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId, relayId: current.relayId });
        return;
      }
    }
    if (scope.daemon === daemon && isOpen(daemon)) this.announce(scope, daemon);
  }
}
