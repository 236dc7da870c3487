// The platform link's options: which origin the relay calls (SERVER_URL and
// its fallbacks), how it authenticates (internal key, mTLS), how it verifies
// the platform, and the per-call limits of each API it uses.
import type { BackplaneModeName } from './backplane.js';
import type { ConfigIo } from './io.js';
import type { EnvValues } from './schema.js';

export type TriState = 'auto' | '0' | '1';

/** PlatformConfig is the `platform` group of the relay config. */
export interface PlatformConfig {
  readonly internalKey?: string | undefined;
  readonly authMode: 'mtls' | 'private_network_shared_secret';
  readonly tlsVerify: TriState;
  readonly caCertPath?: string | undefined;
  readonly mtls: boolean;
  readonly clientCertPath?: string | undefined;
  readonly clientKeyPath?: string | undefined;
  readonly clientKeyPassphrase?: string | undefined;
  readonly admissionTimeoutMs: number;
  readonly admissionMaxResponseBytes: number;
  readonly internalApiTimeoutMs: number;
  readonly internalApiMaxResponseBytes: number;
  /** Worker transport: deadline and response cap per forwarded request (docs/protocol.md#weak-worker-forward). */
  readonly workerTimeoutMs: number;
  readonly workerMaxResponseBytes: number;
}

/** PlatformOrigin is the platform URL and whether the user named it (the spec default is not "named"). */
export interface PlatformOrigin {
  readonly url: string;
  readonly explicit: boolean;
}

const DEFAULT_SERVER_URL = 'https://api.getviewport.com';

/** platformOrigin: SERVER_URL, else RELAY_BACKPLANE_URL (server mode), else the validate URL's origin, else the default. */
export function platformOrigin(e: EnvValues, backplaneMode: BackplaneModeName): PlatformOrigin {
  const validateOrigin = e.RELAY_VALIDATE_URL ? new URL(e.RELAY_VALIDATE_URL).origin : undefined;
  const url =
    e.SERVER_URL ??
    (backplaneMode === 'server' ? e.RELAY_BACKPLANE_URL : undefined) ??
    validateOrigin ??
    DEFAULT_SERVER_URL;
  return { url, explicit: url !== DEFAULT_SERVER_URL || e.SERVER_URL !== undefined };
}

/** buildPlatform reads the platform group; mTLS needs both client files, and every named file must exist. */
export function buildPlatform(e: EnvValues, io: ConfigIo, errors: string[]): PlatformConfig {
  const mtls =
    e.RELAY_SERVER_MTLS ?? (e.RELAY_SERVER_CLIENT_CERT_PATH !== undefined && e.RELAY_SERVER_CLIENT_KEY_PATH !== undefined);
  if (mtls) {
    for (const name of ['RELAY_SERVER_CLIENT_CERT_PATH', 'RELAY_SERVER_CLIENT_KEY_PATH'] as const) {
      const p = e[name];
      if (p === undefined) errors.push(`${name} is required when mTLS to the platform is on`);
      else if (!io.fileExists(p)) errors.push(`${name} points to a file that does not exist`);
    }
  }
  if (e.RELAY_SERVER_CA_CERT_PATH !== undefined && !io.fileExists(e.RELAY_SERVER_CA_CERT_PATH)) {
    errors.push('RELAY_SERVER_CA_CERT_PATH points to a file that does not exist');
  }
  return {
    internalKey: e.RELAY_INTERNAL_KEY,
    authMode: e.RELAY_SERVER_AUTH_MODE ?? 'mtls',
    tlsVerify: e.RELAY_SERVER_TLS_VERIFY ?? 'auto',
    caCertPath: e.RELAY_SERVER_CA_CERT_PATH,
    mtls,
    clientCertPath: e.RELAY_SERVER_CLIENT_CERT_PATH,
    clientKeyPath: e.RELAY_SERVER_CLIENT_KEY_PATH,
    clientKeyPassphrase: e.RELAY_SERVER_CLIENT_KEY_PASSPHRASE,
    admissionTimeoutMs: e.RELAY_ADMISSION_TIMEOUT_MS,
    admissionMaxResponseBytes: e.RELAY_ADMISSION_MAX_RESPONSE_BYTES,
    internalApiTimeoutMs: e.RELAY_INTERNAL_API_TIMEOUT_MS,
    internalApiMaxResponseBytes: e.RELAY_INTERNAL_API_MAX_RESPONSE_BYTES,
    workerTimeoutMs: e.RELAY_WORKER_TIMEOUT_MS,
    workerMaxResponseBytes: e.RELAY_WORKER_MAX_RESPONSE_BYTES,
  };
}
