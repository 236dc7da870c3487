// WebSocket close codes and reasons the relay sends (spec §4.5). Reasons are
// part of the wire contract: daemons and tests match them exactly.

/** CloseCode holds the numeric close codes the relay uses. */
export const CloseCode = {
  /** Going away: the relay is shutting down. */
  shuttingDown: 1001,
  /** Message too big: the frame exceeded RELAY_MAX_FRAME_BYTES. */
  frameTooLarge: 1009,
  /** Policy violation used for every relay-level rejection. */
  policy: 4008,
} as const;

/** CloseReason holds every close reason string the relay sends, keyed by situation. */
export const CloseReason = {
  shuttingDown: 'relay shutting down',
  frameTooLarge: 'frame too large',
  // Post-upgrade claim cross-check (§3.3).
  missingWorkspaceClaim: 'missing workspace claim',
  workspaceClaimMismatch: 'workspace claim mismatch',
  runtimeTargetClaimMismatch: 'runtime target claim mismatch',
  invalidScopeClaim: 'invalid scope claim',
  missingRuntimeTargetClaim: 'missing runtime target claim',
  // Daemon admission (§1).
  staleDaemonGeneration: 'stale daemon generation',
  daemonAlreadyConnected: 'daemon already connected',
  /** A higher daemon generation replaced this socket (G-4). */
  superseded: 'superseded',
  // Rate limits (§5.7).
  daemonRateLimit: 'daemon rate limit exceeded',
  workerRateLimit: 'worker rate limit exceeded',
  runtimeRateLimit: 'runtime rate limit exceeded',
  keyExchangeRateLimit: 'key exchange rate limit exceeded',
  pairingRateLimit: 'pairing rate limit exceeded',
  presenceRateLimit: 'presence rate limit exceeded',
  // Profile checks (§5.1, §5.2).
  clientProfileMismatch: 'client frame profile mismatch',
  daemonProfileMismatch: 'daemon frame profile mismatch',
  // Client scope checks (§3.4).
  pairingScopeOnly: 'pairing scope only',
  runtimeScopeOnly: 'runtime scope only',
  sessionEventsScopeRequired: 'session-events scope required',
  // Backpressure (§5.8).
  bufferOverflow: 'buffer overflow',
} as const;

/** RelayCloseReason is any reason string in CloseReason. */
export type RelayCloseReason = (typeof CloseReason)[keyof typeof CloseReason];
