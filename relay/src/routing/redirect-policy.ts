// Which presence results the relay may act on (docs/protocol.md#presence, docs/protocol.md#redirect): the record
// must name a connected daemon on another relay, with a redirect URL that
// passes the URL policy. Pure.
import type { PresenceRecord } from '../bus/types.js';

export interface RedirectPolicy {
  readonly prod: boolean;
  readonly allowedHosts: readonly string[];
  readonly ownPublicUrl: string;
  readonly tlsHost: string;
}

/** isRedirectUrlAllowed applies the docs/protocol.md#redirect URL policy to a relayWsBaseUrl. */
export function isRedirectUrlAllowed(url: string, policy: RedirectPolicy): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'wss:' && (policy.prod || u.protocol !== 'ws:')) return false;
  if (u.hostname === '' || u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') return false;
  const host = u.hostname.toLowerCase();
  if (policy.allowedHosts.length > 0) return policy.allowedHosts.includes(host);
  if (policy.prod) {
    let own = '';
    try {
      own = new URL(policy.ownPublicUrl).hostname.toLowerCase();
    } catch {
      own = '';
    }
    return host === own || host === policy.tlsHost.toLowerCase();
  }
  return true;
}

/**
 * connectedPresence returns the record when it names a connected daemon on a
 * known relay, else null. Enough for the bus, which routes by relayId: the
 * URL policy guards what clients are told, not where the bus sends frames.
 */
export function connectedPresence(record: PresenceRecord | null): PresenceRecord | null {
  if (record === null || !record.daemonConnected) return null;
  if (record.relayId === '' || record.relayWsBaseUrl === '') return null;
  return record;
}

/** usablePresence returns the record when it names a connected daemon with a URL a client may be sent to, else null. */
export function usablePresence(record: PresenceRecord | null, policy: RedirectPolicy): PresenceRecord | null {
  const connected = connectedPresence(record);
  return connected !== null && isRedirectUrlAllowed(connected.relayWsBaseUrl, policy) ? connected : null;
}

/**
 * shouldRedirect: only to another relay, and never to our own URL, so a
 * shared load-balancer URL cannot make clients reconnect in a loop (docs/protocol.md#weak-redirect-loop).
 */
export function shouldRedirect(record: PresenceRecord, ownRelayId: string, ownPublicUrl: string): boolean {
  return record.relayId !== ownRelayId && record.relayWsBaseUrl !== ownPublicUrl;
}
