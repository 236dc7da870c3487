// The relay's own listener: bind address, the wss:// TLS files (on when
// asked, or automatically when both files exist) and the public URL peers
// are told to use.
import { join } from 'node:path';
import { isLoopbackHost } from './hosts.js';
import type { ConfigIo } from './io.js';
import type { EnvValues } from './schema.js';

/** TlsListenerConfig is the `tls` group of the relay config. */
export interface TlsListenerConfig {
  readonly enabled: boolean;
  readonly termination: 'self' | 'platform';
  readonly host: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** ListenerConfig is where the relay listens and how it is reached. */
export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsListenerConfig;
  readonly publicWsBaseUrl: string;
}

const DEFAULT_TLS_HOST = 'relay.getviewport.com';

/** buildListener reads the listener options; RELAY_TLS=1 needs both files. */
export function buildListener(e: EnvValues, io: ConfigIo, errors: string[]): ListenerConfig {
  const host = e.HOST ?? '127.0.0.1';
  const tlsHost = e.RELAY_TLS_HOST ?? DEFAULT_TLS_HOST;
  const certDir = e.RELAY_TLS_CERT_DIR ?? join(io.homeDir, '.viewport', 'relay-certs');
  const certPath = e.RELAY_TLS_CERT_PATH ?? join(certDir, `${tlsHost}.crt`);
  const keyPath = e.RELAY_TLS_KEY_PATH ?? join(certDir, `${tlsHost}.key`);
  const tlsSetting = e.RELAY_TLS ?? 'auto';
  const tlsFilesExist = io.fileExists(certPath) && io.fileExists(keyPath);
  const enabled = tlsSetting === '1' || (tlsSetting === 'auto' && tlsFilesExist);
  if (tlsSetting === '1' && !tlsFilesExist) {
    errors.push('RELAY_TLS=1 but the certificate or key file does not exist (RELAY_TLS_CERT_PATH, RELAY_TLS_KEY_PATH)');
  }
  const port = e.PORT;
  const scheme = enabled ? 'wss' : 'ws';
  // A loopback dev relay advertises its own address; otherwise the documented default.
  const defaultPublic =
    isLoopbackHost(host) && e.RELAY_TLS_HOST === undefined
      ? `${scheme}://${host === '::1' ? '[::1]' : host}:${port}/ws`
      : tlsHost === DEFAULT_TLS_HOST && port === 7781
        ? 'wss://relay.getviewport.com/ws'
        : `${scheme}://${tlsHost}:${port}/ws`;
  return {
    host,
    port,
    tls: { enabled, termination: e.RELAY_TLS_TERMINATION ?? 'self', host: tlsHost, certPath, keyPath },
    publicWsBaseUrl: e.RELAY_PUBLIC_WS_BASE_URL ?? defaultPublic,
  };
}
