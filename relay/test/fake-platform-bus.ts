// Test helper: the platform's server-mode relay API (docs/protocol.md#server-backplane) on the fake
// platform: presence upsert/resolve with TTL, compare-and-delete on relayId and
// a kept daemon generation (the fixed behaviour: docs/protocol.md#weak-presence-delete,
// docs/protocol.md#weak-generation-memory), and a bus with monotonic ids and
// real long-poll pulls.
import type { FakePlatform, FakeRequest, FakeResponse } from './fake-platform.js';

export const RELAY_API = '/api/runtime/internal/relay';

export interface StoredPresence {
  workspaceId: string;
  runtimeTargetId?: string;
  machineId?: string;
  relayId: string;
  relayWsBaseUrl: string;
  updatedAtMs: number;
}

export interface BusEntry {
  readonly id: number;
  readonly frame: Record<string, unknown>;
}

export interface FakePlatformBus {
  readonly entries: BusEntry[];
  /** inject appends a frame as if some party had published it, bypassing the relays. */
  inject(frame: Record<string, unknown>): number;
  /** setAvailable(false) makes every endpoint answer 503 until set back. */
  setAvailable(available: boolean): void;
  /** setLatency delays every answer by ms, to simulate a platform that hangs; setting it again releases held answers. */
  setLatency(ms: number): void;
  /** The most pulls one relay ever had in flight at once. */
  maxConcurrentPulls(relayId: string): number;
  /** close answers every pending long poll so the fake platform can shut down. */
  close(): void;
}

export interface FakePlatformBusOptions {
  readonly internalKey: string;
  readonly presenceTtlMs?: number;
  readonly retainMax?: number;
  /**
   * queueMax is the most unread frames a relay may have waiting; a publish
   * beyond it is refused (503 QUEUE_FULL), never stored by dropping unread
   * ones: what the delivery promise needs from a real platform.
   */
  readonly queueMax?: number;
  readonly now?: () => number;
}

type Body = Record<string, unknown>;

function parseBody(req: FakeRequest): Body | null {
  try {
    const value = JSON.parse(req.body) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Body) : null;
  } catch {
    return null;
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** installPlatformBus registers the presence and bus endpoints on platform. */
export function installPlatformBus(platform: FakePlatform, options: FakePlatformBusOptions): FakePlatformBus {
  const now = options.now ?? Date.now;
  const ttlMs = options.presenceTtlMs ?? 45_000;
  const retainMax = options.retainMax ?? 10_000;
  const queueMax = options.queueMax ?? Number.POSITIVE_INFINITY;
  // relayId -> the highest sinceId it pulled with: everything up to it was read.
  const readUpTo = new Map<string, number>();
  const presence = new Map<string, StoredPresence>();
  const generations = new Map<string, number>();
  const entries: BusEntry[] = [];
  const waiters = new Set<() => void>();
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  let nextId = 1;
  let available = true;
  let latencyMs = 0;
  const held = new Set<() => void>();

  const scope = (body: Body) => JSON.stringify([body.workspaceId, str(body.runtimeTargetId) ?? null]);

  function append(frame: Record<string, unknown>): number {
    const id = nextId++;
    entries.push({ id, frame });
    if (entries.length > retainMax) {
      // Forget the oldest entries, but never one a relay has not read yet.
      const excess = entries.length - retainMax;
      let dropped = 0;
      for (let i = 0; i < entries.length && dropped < excess; ) {
        if (isUnread(entries[i] as BusEntry)) i += 1;
        else {
          entries.splice(i, 1);
          dropped += 1;
        }
      }
    }
    for (const wake of [...waiters]) wake();
    return id;
  }

  function isUnread(entry: BusEntry): boolean {
    const target = entry.frame.targetRelayId;
    return typeof target === 'string' && target !== '' && entry.id > (readUpTo.get(target) ?? 0);
  }

  function unreadFor(relayId: string): number {
    let n = 0;
    for (const entry of entries) if (entry.frame.targetRelayId === relayId && isUnread(entry)) n += 1;
    return n;
  }

  function framesFor(relayId: string, sinceId: number, limit: number): Body[] {
    const out: Body[] = [];
    for (const entry of entries) {
      if (out.length >= limit) break;
      const target = entry.frame.targetRelayId;
      if (entry.id > sinceId && (target === relayId || target === '' || target === null || target === undefined)) {
        out.push({ ...entry.frame, id: entry.id });
      }
    }
    return out;
  }

  function guarded(handler: (body: Body) => FakeResponse | Promise<FakeResponse>) {
    return async (req: FakeRequest): Promise<FakeResponse> => {
      if (latencyMs > 0) {
        await new Promise<void>((resolve) => {
          const release = () => {
            clearTimeout(timer);
            held.delete(release);
            resolve();
          };
          const timer = setTimeout(release, latencyMs);
          held.add(release);
        });
      }
      if (!available) return { status: 503, body: { ok: false, reason: 'UNAVAILABLE' } };
      if (req.headers['x-relay-internal-key'] !== options.internalKey) {
        return { status: 401, body: { ok: false, reason: 'UNAUTHORIZED' } };
      }
      const body = parseBody(req);
      if (!body || !str(body.workspaceId ?? body.relayId)) return { status: 400, body: { ok: false, reason: 'INVALID_BODY' } };
      return handler(body);
    };
  }

  platform.route(
    'POST',
    `${RELAY_API}/presence/upsert`,
    guarded((body) => {
      const workspaceId = str(body.workspaceId);
      const relayId = str(body.relayId);
      if (!workspaceId || !relayId || typeof body.daemonConnected !== 'boolean') {
        return { status: 400, body: { ok: false, reason: 'INVALID_BODY' } };
      }
      const key = scope(body);
      const generation = body.daemonIssueGeneration;
      const kept = generations.get(key) ?? -1;
      // A connected-daemon write below the kept generation comes from a superseded daemon's relay.
      if (body.daemonConnected && typeof generation === 'number' && generation < kept) return { body: { ok: true, stale: true } };
      if (typeof generation === 'number' && generation > kept) generations.set(key, generation);
      if (body.daemonConnected) {
        presence.set(key, {
          workspaceId,
          runtimeTargetId: str(body.runtimeTargetId),
          machineId: str(body.machineId),
          relayId,
          relayWsBaseUrl: str(body.relayWsBaseUrl) ?? '',
          updatedAtMs: now(),
        });
      } else if (presence.get(key)?.relayId === relayId) {
        presence.delete(key);
      }
      return { body: { ok: true } };
    }),
  );

  platform.route(
    'POST',
    `${RELAY_API}/presence/resolve`,
    guarded((body) => {
      const key = scope(body);
      const record = presence.get(key);
      const generation = generations.get(key);
      if (record && now() - record.updatedAtMs > ttlMs) presence.delete(key);
      const live = presence.get(key);
      if (!live) return { body: { ok: true, daemonConnected: false, daemonIssueGeneration: generation } };
      return { body: { ok: true, ...live, daemonConnected: true, daemonIssueGeneration: generation } };
    }),
  );

  platform.route(
    'POST',
    `${RELAY_API}/bus/publish`,
    guarded((body) => {
      const target = str(body.targetRelayId);
      if (target !== undefined && unreadFor(target) >= queueMax) return { status: 503, body: { ok: false, reason: 'QUEUE_FULL' } };
      append(body);
      return { body: { ok: true } };
    }),
  );

  platform.route(
    'POST',
    `${RELAY_API}/bus/pull`,
    guarded(async (body) => {
      const relayId = str(body.relayId);
      const sinceId = typeof body.sinceId === 'number' ? body.sinceId : 0;
      const limit = typeof body.limit === 'number' && body.limit > 0 ? body.limit : 200;
      const waitMs = Math.min(typeof body.waitMs === 'number' ? body.waitMs : 0, 2000);
      if (!relayId) return { status: 400, body: { ok: false, reason: 'INVALID_BODY' } };
      readUpTo.set(relayId, Math.max(readUpTo.get(relayId) ?? 0, sinceId));
      const current = (inFlight.get(relayId) ?? 0) + 1;
      inFlight.set(relayId, current);
      maxInFlight.set(relayId, Math.max(maxInFlight.get(relayId) ?? 0, current));
      try {
        let frames = framesFor(relayId, sinceId, limit);
        if (frames.length === 0 && waitMs > 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            };
            const timer = setTimeout(done, waitMs);
            waiters.add(done);
          });
          frames = framesFor(relayId, sinceId, limit);
        }
        return available ? { body: { ok: true, frames } } : { status: 503, body: { ok: false, reason: 'UNAVAILABLE' } };
      } finally {
        inFlight.set(relayId, (inFlight.get(relayId) ?? 1) - 1);
      }
    }),
  );

  return {
    entries,
    inject: append,
    setAvailable(next) {
      available = next;
      if (!next) for (const wake of [...waiters]) wake();
    },
    setLatency(ms) {
      latencyMs = ms;
      for (const release of [...held]) release();
    },
    maxConcurrentPulls: (relayId) => maxInFlight.get(relayId) ?? 0,
    close() {
      for (const release of [...held]) release();
      for (const wake of [...waiters]) wake();
    },
  };
}
