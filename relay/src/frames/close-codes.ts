// WebSocket close codes and reasons the relay sends (docs/protocol.md#close-codes). Reasons are
// part of the wire contract: daemons and tests match them exactly.

/** CloseCode holds the numeric close codes the relay uses. */
export const CloseCode = {
  /** Going away: the relay is shutting down. */
  shuttingDown: 1001,
  /** Message too big: the frame exceeded RELAY_MAX_FRAME_BYTES. */
  frameTooLarge: 1009,
  /** Policy violation used for every relay-level rejection. */
  policy: 4008,
  /** The token's `exp` passed: retryable with a fresh token (docs/protocol.md#token-lifetime). */
  tokenExpired: 4001,
} as const;

/** CloseReason holds every close reason string the relay sends, keyed by situation. */
export const CloseReason = {
  shuttingDown: 'relay shutting down',
  frameTooLarge: 'frame too large',
  // Post-upgrade claim cross-check (docs/protocol.md#claim-cross-check).
  missingWorkspaceClaim: 'missing workspace claim',
  workspaceClaimMismatch: 'workspace claim mismatch',
  runtimeTargetClaimMismatch: 'runtime target claim mismatch',
  invalidScopeClaim: 'invalid scope claim',
  missingRuntimeTargetClaim: 'missing runtime target claim',
  // Daemon admission (docs/protocol.md#daemon-slot).
  staleDaemonGeneration: 'stale daemon generation',
  daemonAlreadyConnected: 'daemon already connected',
  /** A higher daemon generation replaced this socket (docs/protocol.md#weak-daemon-takeover). */
  superseded: 'superseded',
  // Rate limits (docs/protocol.md#rate-limits).
  daemonRateLimit: 'daemon rate limit exceeded',
  workerRateLimit: 'worker rate limit exceeded',
  runtimeRateLimit: 'runtime rate limit exceeded',
  keyExchangeRateLimit: 'key exchange rate limit exceeded',
  pairingRateLimit: 'pairing rate limit exceeded',
  presenceRateLimit: 'presence rate limit exceeded',
  // Profile checks (docs/protocol.md#routing-client, docs/protocol.md#routing-daemon).
  clientProfileMismatch: 'client frame profile mismatch',
  daemonProfileMismatch: 'daemon frame profile mismatch',
  // Client scope checks (docs/protocol.md#client-scopes).
  pairingScopeOnly: 'pairing scope only',
  runtimeScopeOnly: 'runtime scope only',
  sessionEventsScopeRequired: 'session-events scope required',
  // Backpressure (docs/protocol.md#backpressure).
  bufferOverflow: 'buffer overflow',
  // The inbound budget's invalid-frame allowance is spent (docs/protocol.md#inbound-budget).
  invalidFrames: 'too many invalid frames',
  // The token's exp passed (docs/protocol.md#token-lifetime).
  tokenExpired: 'token expired',
} as const;

/** RelayCloseReason is any reason string in CloseReason. */
export type RelayCloseReason = (typeof CloseReason)[keyof typeof CloseReason];
