// Admin HTTP (docs/protocol.md#admin-http): /health and /ready are open (probes need them);
// /state, /logs and /metrics need the admin token and, when admin is disabled,
// answer exactly like an unknown path. The token is compared as a SHA-256
// digest in constant time, and only the digest is kept.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminConfig, RelayMode, TlsListenerConfig } from '../config/index.js';
import type { Logger } from './log.js';
import type { RelayMetrics } from './metrics.js';

/**
 * Readiness says whether the relay should receive new connections, and why not;
 * a ready relay whose backplane store is unreachable says so in the body.
 */
export type Readiness = { ready: true; backplane?: 'unreachable' } | { ready: false; reason: 'DRAINING' | 'BACKPLANE_UNHEALTHY' };

/** AdminView is the part of the relay config the admin routes read. */
export interface AdminView {
  readonly admin: AdminConfig;
  readonly tls: Pick<TlsListenerConfig, 'enabled'>;
  readonly mode: RelayMode;
  readonly relayId: string;
}

/** AdminContext is what the admin routes read. */
export interface AdminContext {
  readonly config: AdminView;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly state: () => Record<string, unknown>;
  readonly readiness: () => Readiness;
  readonly now: () => number;
  readonly startedAt: number;
}

/** AdminHandler answers one HTTP request; it never throws. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

const NOT_FOUND = { ok: false, reason: 'NOT_FOUND' };
const PROTECTED = new Set(['/state', '/logs', '/metrics']);

/** presentedAdminToken reads `Authorization: Bearer` or `x-relay-admin-token`, trimmed. */
export function presentedAdminToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^\s*bearer\s+(.+)$/i.exec(auth) : null;
  if (m?.[1]) return m[1].trim();
  const header = req.headers['x-relay-admin-token'];
  const value = Array.isArray(header) ? header[0] : header;
  return value?.trim() || undefined;
}

/** createAdminHandler builds the admin router. */
export function createAdminHandler(ctx: AdminContext): AdminHandler {
  const tokenDigest = ctx.config.admin.token !== undefined ? digest(ctx.config.admin.token.trim()) : undefined;
  const verbose = ctx.config.admin.healthVerbose;

  const authorized = (req: IncomingMessage): boolean => {
    const presented = presentedAdminToken(req);
    if (tokenDigest === undefined || presented === undefined) return false;
    return timingSafeEqual(digest(presented), tokenDigest);
  };

  return (req, res) => {
    try {
      if (!req.url) {
        json(res, 400, { ok: false, reason: 'MISSING_URL' });
        return;
      }
      const url = new URL(req.url, 'http://relay.invalid');
      const path = url.pathname;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        json(res, 404, NOT_FOUND);
        return;
      }
      if (path === '/health') {
        json(res, 200, {
          ok: true,
          service: 'relay',
          uptimeMs: ctx.now() - ctx.startedAt,
          ...(verbose ? { tlsEnabled: ctx.config.tls.enabled, relayMode: ctx.config.mode, relayId: ctx.config.relayId } : {}),
        });
        return;
      }
      if (path === '/ready') {
        const r = ctx.readiness();
        json(res, r.ready ? 200 : 503, r.ready ? { ok: true, ...(r.backplane ? { backplane: r.backplane } : {}) } : { ok: false, reason: r.reason });
        return;
      }
      if (!PROTECTED.has(path) || !ctx.config.admin.enabled) {
        json(res, 404, NOT_FOUND);
        return;
      }
      if (!authorized(req)) {
        ctx.metrics.inc('admin_unauthorized_total');
        json(res, 401, { ok: false, reason: 'ADMIN_UNAUTHORIZED' });
        return;
      }
      if (path === '/state') {
        json(res, 200, ctx.state());
      } else if (path === '/logs') {
        const logs = ctx.log.entries().map((e) => (verbose ? e : { ts: e.ts, level: e.level, event: e.event }));
        json(res, 200, { ok: true, logs });
      } else {
        ctx.metrics.render().then(
          (text) => {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
            res.end(text);
          },
          () => json(res, 500, { ok: false, reason: 'METRICS_FAILED' }),
        );
      }
    } catch {
      if (!res.headersSent) json(res, 500, { ok: false, reason: 'INTERNAL_ERROR' });
      else res.destroy();
    }
  };
}
