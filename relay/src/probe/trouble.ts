// How the probe classifies what goes wrong on a connection: which closes and
// relay statuses mean "come back later", which mean "stop", and how to say so.
import type { LinkClose } from './link.js';

/** Trouble is a connection-level event that interrupts the current step. */
export interface Trouble {
  readonly retryable: boolean;
  readonly message: string;
  /** redirect marks a RELAY_REDIRECT, which is followed even without --reconnect. */
  readonly redirect?: boolean;
}

// Close codes after which reconnecting is the expected reaction (restart,
// shutdown, network loss), and the 4008 reasons that only mean "not yet".
const RETRYABLE_CLOSE_CODES = new Set([1001, 1006, 1011, 1012, 1013]);
const RETRYABLE_4008_REASONS = new Set(['daemon already connected', 'superseded']);
export const MAX_REDIRECTS = 5;
// A relay that drops us right after every handshake must not keep the probe busy forever.
export const MAX_RECOVERIES_PER_FRAME = 10;
// Statuses by which the relay refuses our frames; retrying the same frames cannot help.
export const REFUSING_STATUSES = new Set(['INVALID_FRAME', 'RUNTIME_TARGET_REQUIRED', 'SESSION_EVENTS_SCOPE_ONLY']);
// Connection failures that retrying cannot fix: refused credentials, wrong path, untrusted TLS.
export const FATAL_CONNECT = /HTTP (400|401|403|404)\b|certificate|self[- ]signed|unable to verify/i;

export function describeClose(who: string, close: LinkClose): string {
  return `${who} connection closed by the relay (code ${String(close.code)}${close.reason ? `, "${close.reason}"` : ''})`;
}

export function isRetryableClose(close: LinkClose): boolean {
  return RETRYABLE_CLOSE_CODES.has(close.code) || (close.code === 4008 && RETRYABLE_4008_REASONS.has(close.reason));
}

export function isRelayStatus(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'relay_status';
}
