// The session's five rate limiters (docs/protocol.md#rate-limits) in one object, built from the
// limits option group. Apart from the paths so each path asks one question
// ("may this peer send this kind of frame now?") and the cleanup timer sweeps
// them all in one call.
import type { Config } from '../config/index.js';
import { FixedWindowLimiter, TokenBucketLimiter } from '../limits/index.js';
import type { Peer } from './peer.js';

/** SessionLimits holds the per-key limiters of client, daemon and worker frames. */
export class SessionLimits {
  private readonly kex: FixedWindowLimiter;
  private readonly pairing: FixedWindowLimiter;
  private readonly runtimeClient: TokenBucketLimiter;
  private readonly runtimeWorkspace: TokenBucketLimiter;
  private readonly daemon: TokenBucketLimiter;

  constructor(l: Config['limits'], now: () => number) {
    this.kex = new FixedWindowLimiter({ max: l.kexInitRatePerMinute, windowMs: 60_000, maxKeys: l.kexRateLimiterMaxKeys, now });
    this.pairing = new FixedWindowLimiter({ max: l.pairingRatePerMinute, windowMs: 60_000, maxKeys: l.pairingRateLimiterMaxKeys, now });
    this.runtimeClient = new TokenBucketLimiter({ capacityPerMinute: l.runtimeRatePerMinute, maxKeys: l.runtimeRateLimiterMaxKeys, now });
    this.runtimeWorkspace = new TokenBucketLimiter({
      capacityPerMinute: l.runtimeRatePerMinuteWorkspace,
      maxKeys: l.runtimeWorkspaceRateLimiterMaxKeys,
      now,
    });
    this.daemon = new TokenBucketLimiter({ capacityPerMinute: l.daemonRuntimeRatePerMinute, maxKeys: l.daemonRateLimiterMaxKeys, now });
  }

  /** kexInit: one key exchange init by this client from this address (a fixed window). */
  kexInit(peer: Peer): boolean {
    return this.kex.hit(`${peer.workspaceId}:${peer.clientId}:${peer.ip}`);
  }

  /** pairingRequest: one pairing request by this client from this address (a fixed window). */
  pairingRequest(peer: Peer): boolean {
    return this.pairing.hit(`${peer.workspaceId}:${peer.clientId}:${peer.ip}`);
  }

  /** runtime spends one runtime token of the client, then of its workspace. */
  runtime(peer: Peer, now: number): boolean {
    // Client bucket first: the workspace bucket is not spent when the client's denies (docs/protocol.md#routing-client step 8).
    return this.runtimeClient.take(peer.clientId, now) && this.runtimeWorkspace.take(peer.workspaceId, now);
  }

  /** daemonFrame spends one token of the workspace's daemon bucket (shared by daemon, worker and bus frames). */
  daemonFrame(workspaceId: string, now?: number): boolean {
    return this.daemon.take(workspaceId, now);
  }

  /** sweep drops idle keys of every limiter (the cleanup timer). */
  sweep(): void {
    this.kex.sweep();
    this.pairing.sweep();
    this.runtimeClient.sweep();
    this.runtimeWorkspace.sweep();
    this.daemon.sweep();
  }
}
