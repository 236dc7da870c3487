// Signed presence (docs/backplane.md#signed-presence): a presence record says
// where a scope's client frames go and, with redirects on, which host clients
// are sent to with their tokens, so a reader follows it only when it carries a
// valid, fresh signature under the presence subkey of the bus key. Pure.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ScopeRef } from '../../bus/types.js';
import { scopeKey } from '../scope-key.js';

/** SignedPresence are the fields of a stored record the signature covers, with the scope of its key. */
export interface SignedPresence {
  readonly relayId: string;
  readonly relayWsBaseUrl: string;
  readonly machineId?: string | undefined;
  readonly updatedAtMs: number;
}

/** PresenceRefusal names why a stored record is not followed; reused as a metric label. */
export type PresenceRefusal = 'unsigned' | 'invalid_signature' | 'stale';

/** PresenceFreshness bounds a record's age: written within maxAgeMs, and at most maxSkewMs in the future. */
export interface PresenceFreshness {
  readonly nowMs: number;
  readonly maxAgeMs: number;
  readonly maxSkewMs: number;
}

// The scope is signed too: a record copied under another scope's key does not verify.
// A JSON array, so no field can forge a separator.
function presenceHmac(key: Buffer, scope: ScopeRef, record: SignedPresence): Buffer {
  const signed = JSON.stringify([scopeKey(scope), record.relayId, record.relayWsBaseUrl, record.machineId ?? '', record.updatedAtMs]);
  return createHmac('sha256', key).update(signed, 'utf8').digest();
}

/** signPresence is the base64url signature stored beside a record. */
export function signPresence(key: Buffer, scope: ScopeRef, record: SignedPresence): string {
  return presenceHmac(key, scope, record).toString('base64url');
}

/**
 * checkPresence returns why a stored record must not be followed, or null when
 * its signature is canonical and valid and its timestamp is fresh.
 */
export function checkPresence(key: Buffer, scope: ScopeRef, record: SignedPresence, signature: unknown, freshness: PresenceFreshness): PresenceRefusal | null {
  if (typeof signature !== 'string' || signature === '') return 'unsigned';
  const given = Buffer.from(signature, 'base64url');
  const expected = presenceHmac(key, scope, record);
  const valid = given.toString('base64url') === signature && given.length === expected.length && timingSafeEqual(given, expected);
  if (!valid) return 'invalid_signature';
  const ageMs = freshness.nowMs - record.updatedAtMs;
  if (!Number.isSafeInteger(record.updatedAtMs) || ageMs > freshness.maxAgeMs || -ageMs > freshness.maxSkewMs) return 'stale';
  return null;
}
