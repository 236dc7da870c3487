// Presence in Redis: one key per scope with a TTL, written and compare-deleted
// by Lua scripts, and the daemon generation in a sibling key that outlives the
// presence entry (docs/protocol.md#weak-generation-memory). Apart from the bus: these are the store's presence
// methods and nothing else.
import type { PresenceRecord, ScopeRef } from '../../bus/types.js';
import { disconnectedPresence, type BackplaneStore } from '../store.js';
import type { RedisKeys } from './keys.js';
import { checkPresence, signPresence, type PresenceRefusal } from './presence-signature.js';
import type { ScriptedRedis } from './scripts.js';

/** PresenceTrust is how records are signed and judged: the presence subkey, the clock, the freshness bounds and who hears of a refusal. */
export interface PresenceTrust {
  readonly key: Buffer;
  readonly now: () => number;
  /** How old a record may be: the presence TTL plus the allowed clock skew. */
  readonly maxAgeMs: number;
  readonly maxSkewMs: number;
  readonly onRefused: (scope: ScopeRef, reason: PresenceRefusal) => void;
}

// A record that is not signed, badly signed or stale is never followed: it
// counts as no record (docs/backplane.md#signed-presence).
function parseStoredPresence(raw: string | null, scope: ScopeRef, trust: PresenceTrust): PresenceRecord | null {
  if (!raw) return null;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    trust.onRefused(scope, 'unsigned');
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof value.relayId !== 'string' || typeof value.relayWsBaseUrl !== 'string') {
    trust.onRefused(scope, 'unsigned');
    return null;
  }
  const record: PresenceRecord = {
    workspaceId: scope.workspaceId,
    runtimeTargetId: scope.runtimeTargetId,
    relayId: value.relayId,
    relayWsBaseUrl: value.relayWsBaseUrl,
    daemonConnected: value.daemonConnected === true,
    machineId: typeof value.machineId === 'string' ? value.machineId : undefined,
    updatedAtMs: typeof value.updatedAtMs === 'number' ? value.updatedAtMs : Number.NaN,
  };
  const refusal = checkPresence(trust.key, scope, record, value.sig, { nowMs: trust.now(), maxAgeMs: trust.maxAgeMs, maxSkewMs: trust.maxSkewMs });
  if (refusal !== null) {
    trust.onRefused(scope, refusal);
    return null;
  }
  return record;
}

function parseGeneration(raw: string | null): number | null {
  if (raw === null) return null;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}

export type RedisPresence = Pick<BackplaneStore, 'writePresence' | 'deletePresence' | 'readPresence' | 'readGeneration'>;

/** createRedisPresence binds the presence methods to the commands connection. */
export function createRedisPresence(
  commands: ScriptedRedis,
  keys: RedisKeys,
  presenceTtlMs: number,
  generationTtlMs: number,
  trust: PresenceTrust,
): RedisPresence {
  return {
    async writePresence(record) {
      const value = JSON.stringify({
        relayId: record.relayId,
        relayWsBaseUrl: record.relayWsBaseUrl,
        daemonConnected: true,
        runtimeTargetId: record.runtimeTargetId,
        machineId: record.machineId,
        updatedAtMs: record.updatedAtMs,
        sig: signPresence(trust.key, record, record),
      });
      const written = await commands.presenceUpsert(
        keys.presence(record),
        keys.generation(record),
        value,
        String(presenceTtlMs),
        record.daemonIssueGeneration === undefined ? '' : String(record.daemonIssueGeneration),
        String(generationTtlMs),
      );
      return written === 1 ? 'written' : 'stale';
    },
    async deletePresence(scope, relayId, generation) {
      await commands.presenceRemove(
        keys.presence(scope),
        keys.generation(scope),
        relayId,
        generation === undefined ? '' : String(generation),
        String(generationTtlMs),
      );
    },
    async readPresence(scope) {
      const [raw, generation] = await commands.mget(keys.presence(scope), keys.generation(scope));
      const record = parseStoredPresence(raw ?? null, scope, trust);
      const kept = parseGeneration(generation ?? null);
      if (!record) return kept === null ? null : disconnectedPresence(scope, kept);
      return kept === null ? record : { ...record, daemonIssueGeneration: kept };
    },
    async readGeneration(scope) {
      return parseGeneration(await commands.get(keys.generation(scope)));
    },
  };
}
