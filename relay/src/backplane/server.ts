// Server backplane store: presence and bus through the platform's internal
// relay API (docs/protocol.md#server-backplane). The bus is a long-poll pull loop with one pull in
// flight, resuming from the highest id seen.
import type { Backplane, BackplaneDeps, BackplaneOptions, PresenceRecord, ScopeRef } from './backplane.js';
import type { BusReceiver } from './bus-receiver.js';
import { backplaneMetrics } from './metrics.js';
import { createPlatformClient, type PlatformCallResult } from './platform-http.js';
import { createRemoteBackplane } from './remote.js';
import { disconnectedPresence, type BackplaneStore } from './store.js';

/** PLATFORM_RELAY_API holds the server-mode endpoint paths. */
export const PLATFORM_RELAY_API = {
  presenceUpsert: '/api/runtime/internal/relay/presence/upsert',
  presenceResolve: '/api/runtime/internal/relay/presence/resolve',
  busPublish: '/api/runtime/internal/relay/bus/publish',
  busPull: '/api/runtime/internal/relay/bus/pull',
} as const;

/** MAX_PULL_WAIT_MS is the platform's ceiling for a long-poll wait. */
export const MAX_PULL_WAIT_MS = 2000;
const MAX_FAILURE_BACKOFF_MS = 5000;

/**
 * effectivePullWaitMs clamps the configured wait to [0, 2000] and to three
 * quarters of the request timeout, so an idle long poll always answers before
 * the client gives up on it (docs/protocol.md#weak-bus-ordering).
 */
export function effectivePullWaitMs(configuredMs: number, timeoutMs: number): number {
  return Math.max(0, Math.min(configuredMs, MAX_PULL_WAIT_MS, Math.floor((timeoutMs * 3) / 4)));
}

function scopeBody(scope: ScopeRef) {
  return { workspaceId: scope.workspaceId, runtimeTargetId: scope.runtimeTargetId };
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function asGeneration(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function expectOk(result: PlatformCallResult, call: string): Record<string, unknown> {
  if (!result.ok) throw new Error(`${call}: ${result.error}${result.status ? ` (${result.status})` : ''}`);
  return result.body;
}

/** createServerBackplane builds the server-mode Backplane (options.server must be set). */
export function createServerBackplane(options: BackplaneOptions, deps: BackplaneDeps): Backplane {
  // The platform's bus hands a frame without targetRelayId to every relay's pull (docs/protocol.md#server-backplane).
  return createRemoteBackplane('server', createServerStore(options, deps), options, deps, true);
}

// createServerStore is long because it is one object of store methods closing
// over the pull loop's state (cursor, page size, health); each method is short.
function createServerStore(options: BackplaneOptions, deps: BackplaneDeps): BackplaneStore {
  if (!options.server) throw new Error('server backplane needs options.server');
  const server: NonNullable<BackplaneOptions['server']> = options.server;
  const metrics = backplaneMetrics(deps.registry);
  const client = createPlatformClient({
    baseUrl: server.baseUrl,
    internalKey: server.internalKey,
    maxResponseBytes: server.maxResponseBytes,
    tls: server.tls,
  });
  const waitMs = effectivePullWaitMs(server.pullWaitMs, server.timeoutMs);
  // A pull answer must fit at least one frame of the largest allowed size, JSON
  // escaping included, or one big frame would block the bus for good.
  const pullResponseCap = Math.max(server.maxResponseBytes, 3 * options.maxFrameBytes + 65_536);
  let closed = false;
  let healthy = false;
  let everHealthy = false;
  let sinceId = 0;
  let limit = Math.max(1, server.pullLimit);
  let failures = 0;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const recoverListeners: (() => void)[] = [];

  const call = (path: string, body: unknown) => client.post(path, body, server.timeoutMs);

  function setHealthy(next: boolean): void {
    if (next === healthy) return;
    healthy = next;
    metrics.healthy.set(next ? 1 : 0);
    if (next && everHealthy) {
      metrics.reconnects.inc();
      for (const listener of recoverListeners) listener();
    }
    if (next) everHealthy = true;
    deps.log[next ? 'info' : 'warn'](next ? 'backplane_reconnected' : 'backplane_disconnected', { mode: 'server' });
  }

  function pause(ms: number): Promise<void> {
    if (ms <= 0 || closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  }

  function isOwnBroadcast(entry: unknown): boolean {
    if (typeof entry !== 'object' || entry === null) return false;
    const { sourceRelayId, targetRelayId } = entry as Record<string, unknown>;
    return sourceRelayId === options.relayId && (targetRelayId === null || targetRelayId === '' || targetRelayId === undefined);
  }

  /** pullOnce runs one pull and returns how long to wait before the next. */
  async function pullOnce(receive: BusReceiver, wait: number): Promise<number> {
    const started = deps.now();
    const result = await client.post(
      PLATFORM_RELAY_API.busPull,
      { relayId: options.relayId, sinceId, limit, waitMs: wait },
      server.timeoutMs,
      pullResponseCap,
    );
    if (closed) return 0;
    if (!result.ok) {
      metrics.pullFailed.inc();
      // An answer too big for the cap would repeat forever; ask for fewer frames.
      if (result.error === 'too_large') limit = Math.max(1, Math.floor(limit / 2));
      else setHealthy(false);
      failures += 1;
      deps.log.warn('bus_pull_failed', { mode: 'server', error: result.error, status: result.status });
      return Math.min(server.pollIntervalMs * 2 ** failures, MAX_FAILURE_BACKOFF_MS);
    }
    metrics.pullOk.inc();
    setHealthy(true);
    failures = 0;
    const frames = Array.isArray(result.body.frames) ? (result.body.frames as unknown[]) : [];
    for (const entry of frames) {
      const id = (entry as { id?: unknown } | null)?.id;
      // The cursor moves past every well-numbered entry, delivered or filtered.
      if (typeof id === 'number' && Number.isSafeInteger(id) && id > sinceId) sinceId = id;
      // This relay's own broadcasts come back in its pull: not a frame for it, and not misaddressed either.
      if (!isOwnBroadcast(entry)) receive(entry);
    }
    if (frames.length === 0 && limit < server.pullLimit) limit = Math.min(server.pullLimit, limit * 2);
    return frames.length > 0 ? 0 : Math.max(0, server.pollIntervalMs - (deps.now() - started));
  }

  async function pullLoop(receive: BusReceiver): Promise<void> {
    while (!closed) {
      await pause(await pullOnce(receive, waitMs));
    }
  }

  async function resolve(scope: ScopeRef): Promise<Record<string, unknown>> {
    return expectOk(await call(PLATFORM_RELAY_API.presenceResolve, scopeBody(scope)), 'presence resolve');
  }

  return {
    async start(receive) {
      // A first pull without waiting sets health and drains any backlog quickly.
      const delay = await pullOnce(receive, 0);
      loop = pause(delay)
        .then(() => pullLoop(receive))
        .catch((error: unknown) => deps.log.error('bus_pull_loop_failed', { mode: 'server', error: String(error) }));
    },
    async writePresence(record) {
      const body = expectOk(
        await call(PLATFORM_RELAY_API.presenceUpsert, {
          ...scopeBody(record),
          machineId: record.machineId,
          relayId: record.relayId,
          relayWsBaseUrl: record.relayWsBaseUrl,
          daemonConnected: true,
          daemonIssueGeneration: record.daemonIssueGeneration,
        }),
        'presence upsert',
      );
      // A platform that keeps generations may answer {ok:true, stale:true}; one that does not is taken at its word.
      return body.stale === true ? 'stale' : 'written';
    },
    async deletePresence(scope, relayId, generation) {
      // The platform's upsert(false) may be unconditional (docs/protocol.md#weak-presence-delete), so look first
      // and leave an entry that names another relay alone. A fixed platform
      // also compares relayId itself, which closes the remaining race.
      const current = await resolve(scope);
      if (current.daemonConnected === true && asString(current.relayId) && current.relayId !== relayId) return;
      expectOk(
        await call(PLATFORM_RELAY_API.presenceUpsert, {
          ...scopeBody(scope),
          relayId,
          relayWsBaseUrl: options.relayWsBaseUrl,
          daemonConnected: false,
          daemonIssueGeneration: generation,
        }),
        'presence upsert',
      );
    },
    async readPresence(scope): Promise<PresenceRecord | null> {
      const body = await resolve(scope);
      const relayId = asString(body.relayId);
      const relayWsBaseUrl = asString(body.relayWsBaseUrl);
      const kept = asGeneration(body.daemonIssueGeneration);
      if (!relayId || !relayWsBaseUrl) return kept === undefined ? null : disconnectedPresence(scope, kept);
      return {
        workspaceId: scope.workspaceId,
        runtimeTargetId: asString(body.runtimeTargetId) ?? scope.runtimeTargetId,
        relayId,
        relayWsBaseUrl,
        daemonConnected: body.daemonConnected === true,
        machineId: asString(body.machineId),
        daemonIssueGeneration: kept,
        updatedAtMs: typeof body.updatedAtMs === 'number' ? body.updatedAtMs : deps.now(),
      };
    },
    async readGeneration(scope) {
      return asGeneration((await resolve(scope)).daemonIssueGeneration) ?? null;
    },
    async append(frame) {
      expectOk(await call(PLATFORM_RELAY_API.busPublish, frame), 'bus publish');
      return 'appended';
    },
    // The platform bus has no peer links: every frame is signed and appended.
    sendLinked: () => undefined,
    isHealthy: () => healthy && !closed,
    wasHealthy: () => everHealthy,
    onRecover: (listener) => recoverListeners.push(listener),
    async close() {
      if (closed) return;
      closed = true;
      wake?.();
      client.close();
      await loop;
      metrics.healthy.set(0);
    },
  };
}
