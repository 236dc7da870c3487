// What any client of the relay needs besides the crypto, as pure functions:
// the upgrade URL, the subprotocols that carry a token (a browser cannot set
// an Authorization header), and how to read relay_status frames. Shared by
// the browser client and `viewport-relay probe`.

/** RelayPeerRole is the role a peer asks for in the upgrade query. */
export type RelayPeerRole = 'workspace-daemon' | 'client';

/** APP_SUBPROTOCOL is offered next to `auth.<token>` so the 101 echoes it, not the token (docs/protocol.md#weak-subprotocol-echo). */
export const APP_SUBPROTOCOL = 'viewport.v1';

/** relayPeerUrl adds the role and scope query to a relay endpoint URL. */
export function relayPeerUrl(base: string, role: RelayPeerRole, workspaceId: string, runtimeTargetId: string): string {
  const url = new URL(base);
  url.searchParams.set('role', role);
  url.searchParams.set('workspaceId', workspaceId);
  url.searchParams.set('runtimeTargetId', runtimeTargetId);
  return url.toString();
}

/** tokenSubprotocols lists what a browser offers: the app protocol first, then the token. */
export function tokenSubprotocols(token: string): string[] {
  return [APP_SUBPROTOCOL, `auth.${token}`];
}

/** RelayStatus is a relay_status control frame, read loosely: unknown fields stay available. */
export interface RelayStatus {
  readonly type: 'relay_status';
  readonly code: string;
  readonly [field: string]: unknown;
}

/** asRelayStatus returns value as a relay_status frame, or undefined when it is something else. */
export function asRelayStatus(value: unknown): RelayStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const frame = value as { type?: unknown; code?: unknown };
  if (frame.type !== 'relay_status') return undefined;
  return { ...(value as object), type: 'relay_status', code: typeof frame.code === 'string' ? frame.code : 'UNKNOWN' };
}

/** isWsUrl is true for an absolute ws:// or wss:// URL. */
export function isWsUrl(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    const url = new URL(text);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

/** redirectTarget is where a RELAY_REDIRECT sends a client now on currentUrl; never currentUrl itself (docs/protocol.md#weak-redirect-loop). */
export function redirectTarget(status: RelayStatus, currentUrl: string): string | undefined {
  if (status.code !== 'RELAY_REDIRECT') return undefined;
  const target = status.relayWsBaseUrl;
  return isWsUrl(target) && target !== currentUrl ? target : undefined;
}
