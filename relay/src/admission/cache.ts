// A short-lived cache of positive admissions (R-ADM-4, docs/protocol.md#weak-admission-cost): a reconnect storm of
// peers presenting the same token costs one platform call, not one per upgrade.
// Only admissions are kept, never denials or outages, and never past the token's
// exp. Keys are SHA-256 digests, so raw tokens are not held here.
import { createHash } from 'node:crypto';
import type { Claims } from './claims.js';
import type { AdmissionRequest, Admitter } from './types.js';

/** AdmissionCacheOptions: ttlMs 0 turns the cache off; maxEntries bounds memory. */
export interface AdmissionCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
  /** onHit counts answers served from the cache. */
  readonly onHit?: () => void;
}

/** admissionCacheKey binds a token to the role and scope it was admitted for. */
export function admissionCacheKey(req: AdmissionRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([req.token, req.role, req.workspaceId, req.runtimeTargetId ?? null]))
    .digest('base64url');
}

/** cacheExpiry is when a fresh admission stops being reusable: the TTL or the token's exp, whichever is first. */
export function cacheExpiry(claims: Claims, now: number, ttlMs: number): number {
  const byTtl = now + ttlMs;
  return claims.exp === undefined ? byTtl : Math.min(byTtl, claims.exp * 1000);
}

/** withAdmissionCache wraps an admitter; with ttlMs 0 it returns the admitter unchanged. */
export function withAdmissionCache(inner: Admitter, opts: AdmissionCacheOptions): Admitter {
  if (opts.ttlMs <= 0) return inner;
  // Map order is insertion order: the first key is the oldest entry, evicted first.
  const entries = new Map<string, { claims: Claims; expiresAt: number }>();
  return async (req, signal) => {
    const key = admissionCacheKey(req);
    const hit = entries.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > opts.now()) {
        opts.onHit?.();
        return { ok: true, claims: hit.claims };
      }
      entries.delete(key);
    }
    const result = await inner(req, signal);
    if (result.ok) {
      const now = opts.now();
      const expiresAt = cacheExpiry(result.claims, now, opts.ttlMs);
      if (expiresAt > now) {
        entries.delete(key);
        entries.set(key, { claims: result.claims, expiresAt });
        while (entries.size > opts.maxEntries) {
          const oldest = entries.keys().next();
          if (oldest.done === true) break;
          entries.delete(oldest.value);
        }
      }
    }
    return result;
  };
}
