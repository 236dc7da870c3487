// The checks an upgrade passes before it may cost an admission call (docs/protocol.md#upgrade-checks, docs/protocol.md#weak-admission-cost), in the documented order: draining, the per-IP upgrade rate, the
// total and per-IP connection caps, path, Origin, handshake headers, query,
// token. A decision, no I/O: the caller refuses or admits on its answer. The
// gate's reads run lazily in that order, so a refused upgrade never spends a
// later check's budget (the rate limiter counts only upgrades that got to it).
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/index.js';
import { extractToken } from '../admission/token.js';
import { checkHandshakeHeaders } from './handshake.js';
import { parseUpgradeQuery, type UpgradeQuery } from './query.js';
import type { UpgradeRefusal } from './upgrade-refusals.js';

/** UpgradeGate is the relay state the checks read. */
export interface UpgradeGate {
  readonly draining: boolean;
  /** hitUpgradeRate records one upgrade from ip and says whether it is within the rate. */
  hitUpgradeRate(ip: string): boolean;
  connectionCount(): number;
  ipCount(ip: string): number;
}

/** PreAdmissionConfig is what the checks read from the configuration. */
export type PreAdmissionConfig = Pick<Config, 'mode' | 'limits' | 'network'>;

/** PreAdmission: go on to admission with the query and token, or refuse. */
export type PreAdmission = { readonly ok: true; readonly query: UpgradeQuery; readonly token: string } | { readonly ok: false; readonly refusal: UpgradeRefusal };

const refused = (refusal: UpgradeRefusal): PreAdmission => ({ ok: false, refusal });

/** preAdmission runs the pre-admission checks on an upgrade request from ip. */
export function preAdmission(req: Pick<IncomingMessage, 'url' | 'method' | 'headers'>, ip: string, gate: UpgradeGate, config: PreAdmissionConfig): PreAdmission {
  if (gate.draining) return refused('draining');
  if (!gate.hitUpgradeRate(ip)) return refused('ip_rate_limited');
  if (gate.connectionCount() >= config.limits.maxTotalConnections) return refused('total_connections');
  if (gate.ipCount(ip) >= config.limits.maxConnectionsPerIp) return refused('ip_connections');
  const url = new URL(req.url ?? '/', 'http://relay.invalid');
  if (url.pathname !== '/ws') return refused('bad_path');
  const allowedOrigins = config.network.allowedOrigins;
  if (allowedOrigins.length > 0) {
    const origin = req.headers.origin?.toLowerCase();
    if (origin !== undefined && !allowedOrigins.includes(origin)) return refused('origin_not_allowed');
  }
  // Malformed handshakes are refused before admission, so they never cost a platform call (docs/protocol.md#weak-admission-cost).
  const handshake = checkHandshakeHeaders(req);
  if (!handshake.ok) return refused(handshake.status === 405 ? 'bad_method' : 'bad_handshake');
  const q = parseUpgradeQuery(url.searchParams);
  if (!q.ok) return refused('invalid_query');
  const token = extractToken(req.headers, q.query.token, config.mode === 'dev');
  if (!token.ok) return refused(token.reason === 'QUERY_TOKEN_NOT_ALLOWED' ? 'query_token_not_allowed' : 'missing_token');
  return { ok: true, query: q.query, token: token.token };
}
