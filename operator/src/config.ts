// Operator configuration: flags and environment parsed once, validated,
// frozen. The only module that reads process.env (passed in as `env`).
import { hostname } from 'node:os';
import type { LogLevel } from '@viewport/log';
import { VERSION } from './version.js';

/** OperatorConfig is the validated configuration of `viewport-relay-operator run`. */
export interface OperatorConfig {
  /** Namespaces to watch; empty = all. */
  namespaces: readonly string[];
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  metricsPort: number;
  healthPort: number;
  relayImage: string;
  kubeconfig: string | undefined;
  /** Periodic resync of every relay. */
  resyncMs: number;
  concurrency: number;
  /** Lowest level logged (--log-level); info when absent. */
  logLevel?: LogLevel;
}

/** RunFlags are the raw commander options of `run`. */
export interface RunFlags {
  namespaces?: string;
  leaderElect?: string | boolean;
  leaseName?: string;
  leaseNamespace?: string;
  metricsPort?: string;
  healthPort?: string;
  relayImage?: string;
  kubeconfig?: string;
  resyncPeriod?: string;
  logLevel?: string;
}

/** DEFAULT_RELAY_IMAGE is the relay image matching this operator's version. */
export const DEFAULT_RELAY_IMAGE = `ghcr.io/viewport/relay:${VERSION}`;

/** ConfigResult lists every problem at once. */
export type ConfigResult = { ok: true; config: OperatorConfig } | { ok: false; errors: string[] };

function parseBool(name: string, v: string | boolean | undefined, fallback: boolean, errors: string[]): boolean {
  if (v === undefined || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  errors.push(`${name}: expected true or false, got "${v}"`);
  return fallback;
}

function parsePort(name: string, v: string | undefined, fallback: number, errors: string[]): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    errors.push(`${name}: expected a port 0-65535, got "${v}"`);
    return fallback;
  }
  return n;
}

/** parseDuration reads "90s", "10m", "1h" (or plain seconds) as milliseconds, at least one second. */
function parseDuration(name: string, v: string | undefined, fallback: number, errors: string[]): number {
  if (v === undefined || v === '') return fallback;
  const m = /^([0-9]+)(s|m|h)?$/.exec(v.trim());
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'] : NaN;
  if (!Number.isFinite(ms) || ms < 1000) {
    errors.push(`${name}: expected a duration of at least 1s such as 30s, 10m or 1h, got "${v}"`);
    return fallback;
  }
  return ms;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function parseLogLevel(v: string | undefined, errors: string[]): LogLevel {
  if (v === undefined || v === '') return 'info';
  const level = LOG_LEVELS.find((l) => l === v.toLowerCase());
  if (level === undefined) errors.push(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${v}"`);
  return level ?? 'info';
}

/** loadConfig merges flags (first) with environment variables (second) and defaults. */
export function loadConfig(flags: RunFlags, env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const errors: string[] = [];
  const namespaces = (flags.namespaces ?? env.VIEWPORT_OPERATOR_NAMESPACES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const ns of namespaces) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) errors.push(`--namespaces: "${ns}" is not a namespace name`);
  const leaderElect = parseBool('--leader-elect', flags.leaderElect ?? env.VIEWPORT_OPERATOR_LEADER_ELECT, true, errors);
  const leaseNamespace = flags.leaseNamespace ?? env.POD_NAMESPACE ?? '';
  if (leaderElect && leaseNamespace === '') errors.push('--lease-namespace (or POD_NAMESPACE) is required with leader election');
  const config: OperatorConfig = {
    namespaces,
    leaderElect,
    leaseName: flags.leaseName ?? 'viewport-relay-operator',
    leaseNamespace,
    identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
    metricsPort: parsePort('--metrics-port', flags.metricsPort, 8080, errors),
    healthPort: parsePort('--health-port', flags.healthPort, 8081, errors),
    relayImage: flags.relayImage ?? env.VIEWPORT_RELAY_IMAGE ?? DEFAULT_RELAY_IMAGE,
    kubeconfig: flags.kubeconfig ?? env.KUBECONFIG,
    resyncMs: parseDuration('--resync-period', flags.resyncPeriod ?? env.VIEWPORT_OPERATOR_RESYNC_PERIOD, 10 * 60_000, errors),
    concurrency: 2,
    logLevel: parseLogLevel(flags.logLevel ?? env.VIEWPORT_OPERATOR_LOG_LEVEL, errors),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config: Object.freeze(config) };
}
