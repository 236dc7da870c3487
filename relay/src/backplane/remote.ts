// The shared shell of the redis and server adapters: signing, verification,
// counters, presence bookkeeping and the resolve cache live here once, and a
// BackplaneStore supplies only the transport.
import type {
  Backplane,
  BackplaneDeps,
  BackplaneMode,
  BackplaneOptions,
  BusFrame,
  BusLossHandler,
  PresenceRecord,
  ScopeRef,
} from './backplane.js';
import { createBusReceiver } from './bus-receiver.js';
import { signBusFrame } from './bus-signing.js';
import { backplaneMetrics } from './metrics.js';
import { scopeKey } from './scope-key.js';
import { disconnectedPresence, type BackplaneStore } from './store.js';
import { throttledWarn } from './throttled-log.js';

/** DEFAULT_RESOLVE_CACHE_TTL_MS is how long a positive presence answer is reused (docs/protocol.md#presence). */
export const DEFAULT_RESOLVE_CACHE_TTL_MS = 2000;
/** STALE_PRESENCE_MAX_MS bounds how old a record resolvePresence may answer with while the store is unreachable. */
export const STALE_PRESENCE_MAX_MS = 10 * 60_000;

/**
 * createRemoteBackplane wraps a store into the Backplane the relay core uses;
 * broadcasts says the store hands frames without a target relay to every other relay (docs/protocol.md#weak-session-events).
 * Long because it is one object of methods closing over the shared state
 * (the presence cache, the freshness guard, the handlers); each method is short.
 */
export function createRemoteBackplane(
  mode: Exclude<BackplaneMode, 'single'>,
  store: BackplaneStore,
  options: BackplaneOptions,
  deps: BackplaneDeps,
  broadcasts = false,
): Backplane {
  const metrics = backplaneMetrics(deps.registry);
  const key = options.busHmacKey ?? '';
  const cacheTtlMs = Math.min(options.presenceResolveCacheTtlMs ?? DEFAULT_RESOLVE_CACHE_TTL_MS, options.presenceTtlMs);
  // scopeKey -> record, its expiry, and when the store last gave it (kept past
  // the expiry for outages, see lastKnown); Map order doubles as LRU order.
  const cache = new Map<string, { record: PresenceRecord; expiresAtMs: number; confirmedAtMs: number }>();
  // Entries this relay holds (written, or waiting for the store) and has not
  // removed: the presence-entries gauge, and what to announce again when the
  // store comes back (possibly empty).
  const held = new Map<string, PresenceRecord>();
  // Removals that failed while the store was unreachable; at most one per scope.
  const pendingRemovals = new Map<string, { scope: ScopeRef; generation: number | undefined }>();
  let lossHandler: BusLossHandler | undefined;
  // Publish failures come per frame during an outage: one line per interval says enough.
  const warn = throttledWarn(deps.log, deps.now);

  function setHeld(scope: ScopeRef, record: PresenceRecord | null): void {
    const id = scopeKey(scope);
    const had = held.has(id);
    if (record) {
      held.set(id, record);
      pendingRemovals.delete(id);
    } else {
      held.delete(id);
    }
    if (had !== (record !== null)) metrics.presenceEntries.inc(record ? 1 : -1);
  }

  // A Redis that restarted empty has lost every entry; waiting for the relay's
  // periodic refresh would leave cross-relay traffic failing until then.
  store.onRecover(() => {
    const removals = [...pendingRemovals.values()];
    pendingRemovals.clear();
    for (const { scope, generation } of removals) void removeOwn(scope, options.relayId, generation);
    const records = [...held.values()];
    if (records.length === 0) return;
    deps.log.info('presence_reannounce', { mode, entries: records.length });
    Promise.all(
      records.map((record) =>
        store.writePresence({ ...record, updatedAtMs: deps.now() }).then(
          (outcome) => {
            if (outcome === 'stale') setHeld(record, null);
            (outcome === 'stale' ? metrics.presenceUpsertStale : metrics.presenceUpsertOk).inc();
          },
          () => metrics.presenceUpsertFailed.inc(),
        ),
      ),
    ).catch((error: unknown) => deps.log.warn('presence_reannounce_failed', { mode, error: String(error) }));
  });

  function cacheGet(id: string): PresenceRecord | null {
    const hit = cache.get(id);
    if (!hit || hit.expiresAtMs <= deps.now()) return null;
    cache.delete(id);
    cache.set(id, hit);
    return hit.record;
  }

  // While the store is unreachable the last answer it gave is the best there is:
  // a peer link to that relay still carries frames (docs/backplane.md#readiness).
  function lastKnown(id: string): PresenceRecord | null {
    const hit = cache.get(id);
    return hit !== undefined && deps.now() - hit.confirmedAtMs <= STALE_PRESENCE_MAX_MS ? hit.record : null;
  }

  function cachePut(id: string, record: PresenceRecord): void {
    if (options.presenceResolveCacheMax <= 0) return;
    const nowMs = deps.now();
    cache.delete(id);
    // With the cache off (ttl 0) the entry is born expired: kept only for lastKnown.
    cache.set(id, { record, expiresAtMs: nowMs + Math.max(0, cacheTtlMs), confirmedAtMs: nowMs });
    while (cache.size > options.presenceResolveCacheMax) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  async function removeOwn(scope: ScopeRef, relayId: string, generation: number | undefined): Promise<boolean> {
    const id = scopeKey(scope);
    cache.delete(id);
    // The daemon is gone whether or not the store hears it now: never announce it again.
    if (relayId === options.relayId) setHeld(scope, null);
    try {
      await store.deletePresence(scope, relayId, generation);
      pendingRemovals.delete(id);
      metrics.presenceUpsertOk.inc();
      return true;
    } catch (error) {
      // Retried when the store is back, so the entry does not linger until its TTL.
      if (relayId === options.relayId) pendingRemovals.set(id, { scope, generation });
      metrics.presenceUpsertFailed.inc();
      deps.log.warn('presence_remove_failed', { mode, error: String(error) });
      return false;
    }
  }

  return {
    mode,
    broadcasts,
    async start(onFrame) {
      await store.start(createBusReceiver(options, deps, metrics, onFrame, (loss) => lossHandler?.(loss)));
    },
    async upsertPresence(record) {
      if (!record.daemonConnected) return removeOwn(record, record.relayId, record.daemonIssueGeneration);
      cache.delete(scopeKey(record));
      try {
        if ((await store.writePresence({ ...record, updatedAtMs: deps.now() })) === 'stale') {
          metrics.presenceUpsertStale.inc();
          deps.log.warn('presence_upsert_stale', { mode, generation: record.daemonIssueGeneration });
          setHeld(record, null);
          return false;
        }
        setHeld(record, record.relayId === options.relayId ? record : null);
        metrics.presenceUpsertOk.inc();
        return true;
      } catch (error) {
        // The daemon is here even if the store cannot hear it now: hold the entry
        // so it is written the moment the store is back, not at the next refresh.
        if (record.relayId === options.relayId) setHeld(record, record);
        metrics.presenceUpsertFailed.inc();
        deps.log.warn('presence_upsert_failed', { mode, error: String(error) });
        return false;
      }
    },
    removePresence: (scope, relayId) => removeOwn(scope, relayId, undefined),
    cachedPresence: (scope) => cacheGet(scopeKey(scope)) ?? undefined,
    async resolvePresence(scope) {
      const id = scopeKey(scope);
      const cached = cacheGet(id);
      if (cached) return cached;
      try {
        const record = await store.readPresence(scope);
        metrics.presenceResolveOk.inc();
        // docs/protocol.md#presence: only a connected daemon with a usable relay is a location;
        // otherwise all that is worth passing on is the kept generation.
        if (!record || !record.daemonConnected || !record.relayId || !record.relayWsBaseUrl) {
          cache.delete(id);
          return record?.daemonIssueGeneration === undefined ? null : disconnectedPresence(scope, record.daemonIssueGeneration);
        }
        cachePut(id, record);
        return record;
      } catch (error) {
        metrics.presenceResolveFailed.inc();
        deps.log.warn('presence_resolve_failed', { mode, error: String(error) });
        const stale = lastKnown(id);
        if (stale !== null) metrics.presenceResolveStale.inc();
        return stale;
      }
    },
    async readDaemonGeneration(scope) {
      try {
        const generation = await store.readGeneration(scope);
        metrics.presenceResolveOk.inc();
        return generation;
      } catch (error) {
        metrics.presenceResolveFailed.inc();
        deps.log.warn('presence_generation_read_failed', { mode, error: String(error) });
        return null;
      }
    },
    async publish(frame: BusFrame) {
      const nowMs = deps.now();
      const own: BusFrame = { ...frame, sourceRelayId: options.relayId, issuedAtMs: nowMs };
      try {
        // A peer link takes the frame as it is (both ends proved the key when it was set up).
        const outcome = await (store.sendLinked(own) ?? store.append(signBusFrame(own, key, nowMs)));
        if (outcome === 'appended') {
          metrics.publishOk.inc();
          return true;
        }
        metrics.publishFailed.inc();
        if (outcome === 'lost') return false;
        if (outcome === 'gone') {
          metrics.publishTargetGone.inc();
          return false;
        }
        // The target is too far behind: refused, never trimmed from its backlog.
        metrics.publishRefused.inc();
        if (outcome === 'refused_marked') metrics.lossMarked.inc();
        return false;
      } catch (error) {
        metrics.publishFailed.inc();
        // Redis at maxmemory under noeviction answers OOM: the frame is refused like a full stream (docs/backplane.md#redis-memory).
        const oom = String(error).includes('OOM');
        if (oom) metrics.publishRefused.inc();
        warn(oom ? 'bus_publish_refused_store_full' : 'bus_publish_failed', { mode, error: String(error) });
        return false;
      }
    },
    onBusLoss: (handler) => {
      lossHandler = handler;
    },
    isHealthy: () => store.isHealthy(),
    wasHealthy: () => store.wasHealthy(),
    close: () => store.close(),
  };
}
