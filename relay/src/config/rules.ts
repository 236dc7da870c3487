// Cross-field rules of docs/protocol.md#mode-and-startup: the relay mode inferred from how local the
// settings look, local URLs only on a loopback bind, and what prod demands.
// Pure; each rule appends plain messages that name variables, never secret
// values (a URL's host at most).
import { hostOf, isLocalHost, isLoopbackHost } from './hosts.js';
import type { TlsListenerConfig } from './listener.js';
import type { PlatformConfig } from './platform.js';
import type { EnvValues } from './schema.js';

export type RelayMode = 'dev' | 'staging' | 'prod';

const WEAK_KEY_MARKERS = ['change-me', 'placeholder', 'example'];

function anyUrlLocal(e: EnvValues): boolean {
  return isLocalHost(hostOf(e.SERVER_URL)) || isLocalHost(hostOf(e.RELAY_PUBLIC_WS_BASE_URL));
}

/** relayModeOf: explicit, else dev when the settings look local, else prod. */
export function relayModeOf(e: EnvValues, host: string): RelayMode {
  const urlsUnset = e.SERVER_URL === undefined && e.RELAY_PUBLIC_WS_BASE_URL === undefined;
  return e.RELAY_MODE ?? (urlsUnset || isLoopbackHost(host) || anyUrlLocal(e) ? 'dev' : 'prod');
}

/**
 * checkLocalUrls: local URLs are for loopback development only. The message
 * names each local URL, its host (never the whole URL: it may carry
 * credentials) and the bind that makes it wrong, and says what would be right.
 */
export function checkLocalUrls(e: EnvValues, host: string, errors: string[]): void {
  if (isLoopbackHost(host)) return;
  const local = (['SERVER_URL', 'RELAY_PUBLIC_WS_BASE_URL'] as const).flatMap((name) => {
    const urlHost = hostOf(e[name]);
    return isLocalHost(urlHost) ? [`${name} names the local host ${urlHost}`] : [];
  });
  if (local.length === 0) return;
  errors.push(
    `${local.join(' and ')}, but HOST=${host} listens beyond loopback, and local URLs (loopback names, *.test) are for loopback development only: ` +
      'set SERVER_URL to the platform and RELAY_PUBLIC_WS_BASE_URL to this relay as clients on other machines reach it, ' +
      'or bind HOST=127.0.0.1 for local development (in a container: --network host, README "In a container")',
  );
}

/** ProdFacts are the settings the prod rules judge. */
export interface ProdFacts {
  readonly mode: RelayMode;
  readonly tls: TlsListenerConfig;
  readonly platform: PlatformConfig;
  readonly serverUrl: string;
}

/** checkProd: prod needs TLS, a real internal key, and a verified platform link for its auth mode. */
export function checkProd(facts: ProdFacts, errors: string[]): void {
  if (facts.mode !== 'prod') return;
  const { tls, platform } = facts;
  if (!tls.enabled && tls.termination !== 'platform') {
    errors.push('prod mode needs TLS on (RELAY_TLS) or RELAY_TLS_TERMINATION=platform');
  }
  const key = platform.internalKey ?? '';
  if (key.length < 24 || WEAK_KEY_MARKERS.some((m) => key.toLowerCase().includes(m))) {
    errors.push('prod mode needs a RELAY_INTERNAL_KEY of at least 24 characters that is not a placeholder');
  }
  if (platform.authMode === 'mtls' && (!platform.mtls || platform.tlsVerify !== '1')) {
    errors.push('prod mode with RELAY_SERVER_AUTH_MODE=mtls needs mTLS on and RELAY_SERVER_TLS_VERIFY=1');
  }
  if (platform.authMode === 'private_network_shared_secret' && isLocalHost(hostOf(facts.serverUrl))) {
    errors.push('prod mode with private_network_shared_secret needs a non-local SERVER_URL');
  }
}
