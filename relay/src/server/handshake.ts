// WebSocket handshake header checks (RFC 6455 section 4.2.1), done before admission
// so malformed upgrades never reach the platform. Pure.
import type { IncomingMessage } from 'node:http';

const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** checkHandshakeHeaders: 405 for a non-GET, 400 for a bad Upgrade, key or version. */
export function checkHandshakeHeaders(req: Pick<IncomingMessage, 'method' | 'headers'>): { ok: true } | { ok: false; status: 400 | 405 } {
  if (req.method !== 'GET') return { ok: false, status: 405 };
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return { ok: false, status: 400 };
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key.trim())) return { ok: false, status: 400 };
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') return { ok: false, status: 400 };
  return { ok: true };
}
