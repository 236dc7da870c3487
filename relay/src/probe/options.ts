// Probe options: what to connect to and how hard to push. Pure validation,
// separate from the command line so tests and e2e code can call runProbe.
import { isProfile, type Profile } from '../e2ee/index.js';

/** ProbeTokens are the bearer tokens the daemon and client connections present. */
export interface ProbeTokens {
  readonly daemon: string;
  readonly client: string;
}

/** ProbeOptions configures one probe run. */
export interface ProbeOptions {
  /** url is the relay's WebSocket endpoint, e.g. ws://127.0.0.1:7781/ws. */
  readonly url: string;
  /** clientUrl lets the client half join through another relay instance than the daemon half. */
  readonly clientUrl?: string;
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly profile: Profile;
  /** kexVersion picks the v3 Noise handshake (default) or the legacy v2 key exchange. */
  readonly kexVersion: 2 | 3;
  /** frames is how many envelopes go client → daemon (each is echoed back daemon → client). */
  readonly frames: number;
  /** bytes is the plaintext size of each envelope. */
  readonly bytes: number;
  /** timeoutMs bounds each step: connecting, the handshake, each echo. */
  readonly timeoutMs: number;
  readonly tokens: ProbeTokens;
  /** ca is PEM text of extra trusted CA certificates for wss:// endpoints. */
  readonly ca?: string | Buffer;
  /** reconnect keeps streaming across relay restarts, re-doing the handshake. */
  readonly reconnect: boolean;
  /** reconnectWindowMs bounds how long one outage may last when reconnecting. */
  readonly reconnectWindowMs: number;
  /** rotateAfterMessages makes the probe daemon ask for a re-key after this many envelopes. */
  readonly rotateAfterMessages: number;
}

/** PROBE_DEFAULTS are the command's defaults. */
export const PROBE_DEFAULTS = {
  url: 'ws://127.0.0.1:7781/ws',
  workspaceId: 'probe',
  runtimeTargetId: 'probe',
  profile: 'noise-ik' as Profile,
  kexVersion: 3 as 2 | 3,
  // The relay's default per-client budget is 240 envelopes a minute; stay well under it.
  frames: 50,
  bytes: 256,
  timeoutMs: 10_000,
  reconnect: false,
  reconnectWindowMs: 60_000,
  rotateAfterMessages: 250,
} as const;

/** MIN_PROBE_BYTES leaves room for the frame index carried in every plaintext. */
export const MIN_PROBE_BYTES = 24;
const MAX_PROBE_BYTES = 512 * 1024;
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** RawProbeOptions is what a command line supplies before validation. */
export interface RawProbeOptions {
  url?: string;
  clientUrl?: string;
  workspace?: string;
  target?: string;
  profile?: string;
  kex?: string;
  frames?: string | number;
  bytes?: string | number;
  timeout?: string | number;
  reconnect?: boolean;
  reconnectWindow?: string | number;
  rotateAfter?: string | number;
}

function integer(name: string, value: string | number | undefined, fallback: number, min: number, max: number, errors: string[]): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    errors.push(`--${name} must be an integer between ${min} and ${max}`);
    return fallback;
  }
  return n;
}

function checkWsUrl(flag: string, text: string, errors: string[]): void {
  try {
    const parsed = new URL(text);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') errors.push(`${flag} must be a ws:// or wss:// URL`);
  } catch {
    errors.push(`${flag} is not a valid URL`);
  }
}

/** ProbeSettings is every validated option except the tokens and CA. */
export type ProbeSettings = Omit<ProbeOptions, 'tokens' | 'ca'>;

/** validateProbeSettings checks raw options and reports every problem at once. */
export function validateProbeSettings(raw: RawProbeOptions): { ok: true; settings: ProbeSettings } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const url = raw.url ?? PROBE_DEFAULTS.url;
  checkWsUrl('--url', url, errors);
  if (raw.clientUrl !== undefined) checkWsUrl('--client-url', raw.clientUrl, errors);
  const workspaceId = raw.workspace ?? PROBE_DEFAULTS.workspaceId;
  if (!ID_PATTERN.test(workspaceId)) errors.push('--workspace must be 1-128 characters of A-Z a-z 0-9 . _ : -');
  const runtimeTargetId = raw.target ?? PROBE_DEFAULTS.runtimeTargetId;
  if (!ID_PATTERN.test(runtimeTargetId)) errors.push('--target must be 1-128 characters of A-Z a-z 0-9 . _ : -');
  const profile = raw.profile ?? PROBE_DEFAULTS.profile;
  if (!isProfile(profile)) errors.push('--profile must be noise-ik or noise-ikpsk2');
  const kex = raw.kex ?? String(PROBE_DEFAULTS.kexVersion);
  if (kex !== '2' && kex !== '3') errors.push('--kex must be 2 or 3');
  const settings: ProbeSettings = {
    url,
    ...(raw.clientUrl !== undefined ? { clientUrl: raw.clientUrl } : {}),
    workspaceId,
    runtimeTargetId,
    profile: isProfile(profile) ? profile : PROBE_DEFAULTS.profile,
    kexVersion: kex === '2' ? 2 : 3,
    frames: integer('frames', raw.frames, PROBE_DEFAULTS.frames, 1, 1_000_000, errors),
    bytes: integer('bytes', raw.bytes, PROBE_DEFAULTS.bytes, MIN_PROBE_BYTES, MAX_PROBE_BYTES, errors),
    timeoutMs: integer('timeout', raw.timeout, PROBE_DEFAULTS.timeoutMs, 100, 600_000, errors),
    reconnect: raw.reconnect ?? PROBE_DEFAULTS.reconnect,
    reconnectWindowMs: integer('reconnect-window', raw.reconnectWindow, PROBE_DEFAULTS.reconnectWindowMs, 100, 3_600_000, errors),
    rotateAfterMessages: integer('rotate-after', raw.rotateAfter, PROBE_DEFAULTS.rotateAfterMessages, 1, 1_000_000, errors),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, settings };
}
