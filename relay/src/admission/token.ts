// Where a peer's token comes from (docs/protocol.md#upgrade-token), and which subprotocol the 101
// echoes. Pure functions over request headers and query.

const MIN_TOKEN = 10;
const MAX_TOKEN = 4096;

/** isUsableToken: tokens are 10-4096 characters. */
export function isUsableToken(t: string): boolean {
  return t.length >= MIN_TOKEN && t.length <= MAX_TOKEN;
}

export type TokenSource = 'bearer' | 'subprotocol' | 'query';
export type TokenResult =
  | { ok: true; token: string; source: TokenSource }
  | { ok: false; reason: 'MISSING_AUTH_TOKEN' | 'QUERY_TOKEN_NOT_ALLOWED' };

/** splitSubprotocols lists the offered Sec-WebSocket-Protocol entries, trimmed, empties removed. */
export function splitSubprotocols(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * extractToken takes the first usable token from the Bearer header, then an
 * `auth.<token>` subprotocol, then (dev only) the `token` query parameter.
 * A malformed Authorization header is skipped, not rejected.
 */
export function extractToken(
  headers: { authorization?: string | undefined; 'sec-websocket-protocol'?: string | undefined },
  queryToken: string | undefined,
  allowQueryToken: boolean,
): TokenResult {
  const auth = headers.authorization;
  if (auth) {
    const m = /^\s*bearer\s+(.+)$/i.exec(auth);
    const t = m?.[1]?.trim();
    if (t && isUsableToken(t)) return { ok: true, token: t, source: 'bearer' };
  }
  for (const entry of splitSubprotocols(headers['sec-websocket-protocol'])) {
    if (entry.startsWith('auth.')) {
      const t = entry.slice(5);
      if (isUsableToken(t)) return { ok: true, token: t, source: 'subprotocol' };
    }
  }
  if (queryToken !== undefined && queryToken !== '') {
    if (!allowQueryToken) return { ok: false, reason: 'QUERY_TOKEN_NOT_ALLOWED' };
    if (isUsableToken(queryToken)) return { ok: true, token: queryToken, source: 'query' };
  }
  return { ok: false, reason: 'MISSING_AUTH_TOKEN' };
}

/** selectSubprotocol echoes one offered entry, preferring one that is not `auth.<token>` (docs/protocol.md#weak-subprotocol-echo). */
export function selectSubprotocol(offered: ReadonlySet<string> | readonly string[]): string | false {
  const list = [...offered];
  return list.find((p) => !p.startsWith('auth.')) ?? list[0] ?? false;
}
