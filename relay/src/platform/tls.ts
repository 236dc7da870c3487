// TLS material for calls to the platform (docs/protocol.md#admission-validate): the one verify rule
// (RELAY_SERVER_TLS_VERIFY auto/0/1), the extra CA and the mTLS client
// certificate. Files are re-read when their mtime changes, so rotated client
// certificates apply to the next call without a restart.
import { readFileSync, statSync } from 'node:fs';
import { isLocalHost } from '../config/hosts.js';
import type { PlatformConfig, TriState } from '../config/platform.js';

/** PlatformTlsSettings is the part of the platform config that decides TLS. */
export type PlatformTlsSettings = Pick<
  PlatformConfig,
  'tlsVerify' | 'caCertPath' | 'mtls' | 'clientCertPath' | 'clientKeyPath' | 'clientKeyPassphrase'
>;

/** PlatformTlsOptions are the TLS options of one platform call. */
export interface PlatformTlsOptions {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly passphrase?: string | undefined;
  /** Unset means verify. */
  readonly rejectUnauthorized?: boolean | undefined;
}

/** PlatformTls yields the TLS options for a call to host, with any rotated file re-read. */
export type PlatformTls = (host: string) => PlatformTlsOptions;

/** verifiesPlatform is the verify rule: 1 always, 0 never, auto unless the host is local. */
export function verifiesPlatform(tlsVerify: TriState, host: string): boolean {
  return tlsVerify === '1' || (tlsVerify === 'auto' && !isLocalHost(host));
}

/** createPlatformTls builds the TLS option source from the platform settings. */
export function createPlatformTls(settings: PlatformTlsSettings): PlatformTls {
  const cache = new Map<string, { mtimeMs: number; data: Buffer }>();
  const read = (path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      const { mtimeMs } = statSync(path);
      const hit = cache.get(path);
      if (hit && hit.mtimeMs === mtimeMs) return hit.data;
      const data = readFileSync(path);
      cache.set(path, { mtimeMs, data });
      return data;
    } catch {
      // A vanished file keeps the last good copy, so a rotation in progress breaks no call.
      return cache.get(path)?.data;
    }
  };
  return (host) => ({
    rejectUnauthorized: verifiesPlatform(settings.tlsVerify, host),
    ca: read(settings.caCertPath),
    ...(settings.mtls
      ? { cert: read(settings.clientCertPath), key: read(settings.clientKeyPath), passphrase: settings.clientKeyPassphrase }
      : {}),
  });
}
