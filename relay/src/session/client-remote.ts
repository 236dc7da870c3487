// A client frame whose daemon is not on this relay (docs/protocol.md#no-local-daemon): find where
// the daemon lives (the backplane's cache, else a presence lookup), redirect
// the client when policy allows, and publish the frame to that relay, or
// answer DAEMON_UNAVAILABLE. Apart from the client path because this is the
// only part of it that waits on the network; each client's frames still leave
// in arrival order.
import type { Backplane } from '../backplane/backplane.js';
import type { PresenceRecord } from '../bus/types.js';
import type { Config } from '../config/index.js';
import { relayStatus } from '../frames/index.js';
import { connectedPresence, isRedirectUrlAllowed, shouldRedirect, type RedirectPolicy } from '../routing/redirect-policy.js';
import type { ScopeState } from '../routing/scope.js';
import type { Outbox } from './outbox.js';
import type { Peer } from './peer.js';
import type { PresenceSync } from './presence-sync.js';

/** ClientRemoteDeps: the option groups and collaborators of remote delivery. */
export interface ClientRemoteDeps {
  readonly backplaneConfig: Config['backplane'];
  readonly self: Pick<Config, 'relayId' | 'publicWsBaseUrl' | 'mode' | 'tls'>;
  readonly backplane: Backplane;
  readonly presence: PresenceSync;
  readonly out: Outbox;
}

/** ClientRemote delivers client frames to a daemon on another relay. */
export class ClientRemote {
  private readonly redirectPolicy: RedirectPolicy;
  /** The tail of each client's frames waiting on presence; only route touches it. */
  private readonly presenceChains = new WeakMap<Peer, Promise<unknown>>();

  constructor(private readonly deps: ClientRemoteDeps) {
    const { self, backplaneConfig } = deps;
    this.redirectPolicy = {
      prod: self.mode === 'prod',
      allowedHosts: backplaneConfig.redirectAllowedHosts,
      ownPublicUrl: self.publicWsBaseUrl,
      tlsHost: self.tls.host,
    };
  }

  // Per-client order (the delivery promise) needs only the lookups in order: each
  // frame's publish is issued as its lookup answers, and one store connection keeps
  // publishes in issue order, so a frame never waits for the previous publish's reply.
  // With no lookup pending and the location cached, the frame is routed in this turn.
  /** route sends peer's frame towards its scope's daemon elsewhere. */
  route(peer: Peer, scope: ScopeState<Peer>, buf: Buffer): void {
    const single = this.deps.backplaneConfig.mode === 'single';
    const pending = this.presenceChains.get(peer);
    if (pending === undefined && !single) {
      const cached = this.deps.backplane.cachedPresence({ workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId });
      if (cached !== undefined) {
        this.routeToPresence(peer, scope, buf, cached);
        return;
      }
    }
    const lookup = (pending ?? Promise.resolve())
      .then(() => (single ? null : this.deps.presence.resolve(scope)))
      .then((record) => this.routeToPresence(peer, scope, buf, record));
    const chain = lookup.catch(() => undefined);
    this.presenceChains.set(peer, chain);
    // Once the chain is idle, later frames may take the cached path again.
    this.deps.out.background(
      lookup.finally(() => {
        if (this.presenceChains.get(peer) === chain) this.presenceChains.delete(peer);
      }),
      'route_via_presence',
    );
  }

  /**
   * routeToPresence is docs/protocol.md#no-local-daemon step 2-3 once the daemon's location is known: redirect
   * and publish, else DAEMON_UNAVAILABLE. The publish is issued before it returns.
   */
  private routeToPresence(peer: Peer, scope: ScopeState<Peer>, buf: Buffer, found: PresenceRecord | null): void {
    const { backplaneConfig, self, out } = this.deps;
    const target = scope.runtimeTargetId as string;
    // Deliberately looser than docs/protocol.md#server-backplane "Resolve": the URL policy only decides whether the
    // client may be redirected; the bus needs just the relayId, so a prod relay whose
    // peers advertise in-cluster ws:// URLs still routes across relays.
    const record = connectedPresence(found);
    if (record === null || record.relayId === self.relayId) {
      this.daemonUnavailable(peer, target, undefined);
      return;
    }
    const redirect = backplaneConfig.clientRedirectEnabled && shouldRedirect(record, self.relayId, self.publicWsBaseUrl);
    if (redirect && isRedirectUrlAllowed(record.relayWsBaseUrl, this.redirectPolicy)) {
      out.report('client_redirected');
      out.send(peer, relayStatus('RELAY_REDIRECT', peer.workspaceId, { relayWsBaseUrl: record.relayWsBaseUrl, runtimeTargetId: target }));
    }
    if (!backplaneConfig.busEnabled) {
      this.daemonUnavailable(peer, target, record.machineId);
      return;
    }
    const published = out.publish(out.busFrame(scope, 'client_to_daemon', record.relayId, record.machineId, buf));
    out.background(
      published.then((ok) => {
        if (ok) out.report('client_routed_bus');
        else this.daemonUnavailable(peer, target, record.machineId);
      }),
      'publish_client_to_daemon',
    );
  }

  private daemonUnavailable(peer: Peer, target: string, machineId: string | undefined): void {
    this.deps.out.report('daemon_unavailable');
    this.deps.out.send(peer, relayStatus('DAEMON_UNAVAILABLE', peer.workspaceId, { runtimeTargetId: target, machineId }));
  }
}
