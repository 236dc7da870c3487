// The /state body (docs/protocol.md#admin-http), built from the hub's scopes. Pure.
import type { Config } from '../config/index.js';
import type { ScopeState } from '../routing/scope.js';

/** StatePeer is the little /state needs to know about a peer. */
export interface StatePeer {
  readonly clientId: string;
  readonly role: string;
}

/** buildState lists every scope with its daemon and OPEN client counts, plus the worker count (docs/protocol.md#weak-worker-accounting). */
export function buildState<P extends StatePeer>(
  config: Config,
  scopes: Iterable<ScopeState<P>>,
  isOpen: (p: P) => boolean,
  extras: { readonly workers: number; readonly draining: boolean },
): Record<string, unknown> {
  const verbose = config.admin.healthVerbose;
  const workspaces = [];
  for (const s of scopes) {
    const open = [...s.clients].filter(isOpen);
    workspaces.push({
      workspaceId: s.workspaceId,
      ...(s.runtimeTargetId !== undefined ? { runtimeTargetId: s.runtimeTargetId } : {}),
      daemonConnected: s.daemon !== null && isOpen(s.daemon),
      clientCount: open.length,
      ...(config.admin.stateIncludeClientIds ? { clientIds: open.map((c) => c.clientId) } : {}),
      subscribedChannels: s.subscribers.size,
      lastActivityAt: new Date(s.lastActivityAt).toISOString(),
    });
  }
  return {
    ok: true,
    service: 'relay',
    relayMode: config.mode,
    relayId: config.relayId,
    backplaneMode: config.backplane.mode,
    busEnabled: config.backplane.busEnabled,
    clientRedirectEnabled: config.backplane.clientRedirectEnabled,
    ...(verbose
      ? { serverUrl: config.serverUrl, tlsEnabled: config.tls.enabled, tlsHost: config.tls.host, wsBaseUrl: config.publicWsBaseUrl }
      : {}),
    draining: extras.draining,
    workerCount: extras.workers,
    workspaces,
  };
}
