// Token lifetime (docs/protocol.md#token-lifetime), checked for every admission
// mode and for cached admissions too: a token whose `iat` lies in the future
// beyond the clock-skew allowance, or whose lifetime (exp - iat, or exp - now
// without iat) exceeds the configured maximum, is refused 401. Tokens without
// `exp` (a validate endpoint may omit it) are left to the platform that vouched
// for them. The close at `exp` is the session hub's (one timer per peer).
import type { AdmissionResult, Admitter } from './types.js';

/** LifetimeRules are the configured bounds, in seconds. */
export interface LifetimeRules {
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
}

/** checkTokenLifetime applies the rules to an admitted result at nowMs; refusals pass through untouched. */
export function checkTokenLifetime(result: AdmissionResult, rules: LifetimeRules, nowMs: number): AdmissionResult {
  if (!result.ok) return result;
  const { iat, exp } = result.claims;
  const now = nowMs / 1000;
  if (iat !== undefined && iat > now + rules.clockSkewSeconds) return { ok: false, status: 401, reason: 'JWT_IAT_IN_FUTURE' };
  if (exp === undefined) return result;
  if (exp <= now - rules.clockSkewSeconds) return { ok: false, status: 401, reason: 'JWT_EXPIRED' };
  if (exp - (iat ?? now) > rules.maxLifetimeSeconds) return { ok: false, status: 401, reason: 'JWT_LIFETIME_TOO_LONG' };
  return result;
}

/** withTokenLifetime wraps an admitter (cache included) with checkTokenLifetime. */
export function withTokenLifetime(inner: Admitter, rules: LifetimeRules, now: () => number): Admitter {
  return async (req, signal) => checkTokenLifetime(await inner(req, signal), rules, now());
}
