// Relay configuration: every environment variable is read here once, checked
// with zod (schema.ts), cross-validated by the mode rules of docs/protocol.md#mode-and-startup, and
// frozen. All problems are collected and reported together; secret values
// never appear in a message (only variable names do). Each subsystem's option
// group is built and typed in its own module; this one reads like their list.
import { buildAdmin, checkProbePage, type AdminConfig } from './admin.js';
import { buildAdmission, type AdmissionConfig } from './admission.js';
import { backplaneModeOf, buildBackplane, checkBackplaneUrl, type BackplaneConfig } from './backplane.js';
import { defaultConfigIo, type ConfigIo } from './io.js';
import { buildLimits, buildTimers, type LimitsConfig, type TimersConfig } from './limits.js';
import { buildListener, type TlsListenerConfig } from './listener.js';
import { buildNetwork, type NetworkConfig } from './network.js';
import { buildPlatform, platformOrigin, type PlatformConfig } from './platform.js';
import { checkLocalUrls, checkProd, relayModeOf, type RelayMode } from './rules.js';
import { readEnvironment, type Env } from './schema.js';

export type { AdminConfig } from './admin.js';
export { VALIDATE_PATH, type AdmissionConfig, type AdmissionMode } from './admission.js';
export type { BackplaneConfig, BackplaneModeName } from './backplane.js';
export { isIpOrCidr, isLocalHost, peerLinkUrl } from './hosts.js';
export { defaultConfigIo, type ConfigIo } from './io.js';
export type { LimitsConfig, TimersConfig } from './limits.js';
export type { TlsListenerConfig } from './listener.js';
export type { NetworkConfig } from './network.js';
export type { PlatformConfig, TriState } from './platform.js';
export type { RelayMode } from './rules.js';
export { CONFIG_VARIABLES } from './schema.js';

/** Config is the relay's frozen configuration; built only by parseConfig. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly maxLogs: number;
  readonly mode: RelayMode;
  readonly relayId: string;
  readonly serverUrl: string;
  readonly publicWsBaseUrl: string;
  /** Which of relayId and publicWsBaseUrl were derived from HOST/PORT (bindPort rewrites only those). */
  readonly derived: { readonly relayId: boolean; readonly publicWsBaseUrl: boolean };
  readonly tls: TlsListenerConfig;
  readonly platform: PlatformConfig;
  readonly admission: AdmissionConfig;
  readonly admin: AdminConfig;
  readonly limits: LimitsConfig;
  readonly timers: TimersConfig;
  readonly backplane: BackplaneConfig;
  readonly network: NetworkConfig;
}

/** ConfigResult is parseConfig's answer: a config, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/**
 * parseConfig turns an environment into a frozen Config, or lists every problem.
 * Pure apart from the injected io (file existence for TLS/mTLS, randomness for RELAY_ID).
 * The order of the steps is the order problems are reported in.
 */
export function parseConfig(env: Env, io: ConfigIo = defaultConfigIo): ConfigResult {
  const read = readEnvironment(env);
  if (!read.ok) return read;
  const e = read.values;
  const errors: string[] = [];

  const host = e.HOST ?? '127.0.0.1';
  const mode = relayModeOf(e, host);
  // The backplane mode comes before SERVER_URL, since RELAY_BACKPLANE_URL may stand in for it.
  const backplaneMode = backplaneModeOf(e);
  checkBackplaneUrl(e, backplaneMode, errors);
  const origin = platformOrigin(e, backplaneMode);
  const listener = buildListener(e, io, errors);
  const platform = buildPlatform(e, io, errors);
  const admission = buildAdmission(e, origin, errors);
  const backplane = buildBackplane(e, backplaneMode, io, errors);
  checkLocalUrls(e, host, errors);
  checkProd({ mode, tls: listener.tls, platform, serverUrl: origin.url }, errors);
  checkProbePage(e, mode, errors);
  if (errors.length > 0) return { ok: false, errors };

  const config: Config = {
    host,
    port: listener.port,
    maxLogs: e.MAX_LOGS,
    mode,
    relayId: e.RELAY_ID ?? `${host}:${listener.port}:${io.randomHex(6)}`,
    serverUrl: origin.url,
    publicWsBaseUrl: listener.publicWsBaseUrl,
    derived: { relayId: e.RELAY_ID === undefined, publicWsBaseUrl: e.RELAY_PUBLIC_WS_BASE_URL === undefined },
    tls: listener.tls,
    platform,
    admission,
    admin: buildAdmin(e, mode),
    limits: buildLimits(e),
    timers: buildTimers(e),
    backplane,
    network: buildNetwork(e),
  };
  return { ok: true, config: deepFreeze(config) };
}

/**
 * bindPort fills in the port the listener actually got when PORT was 0: a derived
 * relayId and public URL would otherwise name port 0, and relays started that way
 * on one host would share an id prefix that says nothing. Explicit values stay as set.
 */
export function bindPort(config: Config, boundPort: number): Config {
  if (config.port !== 0) return config;
  const zeroId = `${config.host}:0:`;
  const relayId = config.derived.relayId && config.relayId.startsWith(zeroId) ? `${config.host}:${boundPort}:${config.relayId.slice(zeroId.length)}` : config.relayId;
  const publicWsBaseUrl = config.derived.publicWsBaseUrl ? config.publicWsBaseUrl.replace(/:0\/ws$/, `:${boundPort}/ws`) : config.publicWsBaseUrl;
  return deepFreeze({ ...config, port: boundPort, relayId, publicWsBaseUrl });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** processEnvironment is the process environment; the CLI passes it to parseConfig (the only env reader). */
export function processEnvironment(): Readonly<Record<string, string | undefined>> {
  return process.env;
}
