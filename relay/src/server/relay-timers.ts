// The relay's periodic work: the heartbeat, the cleanup of scopes and
// limiters, and the presence refresh. Apart from createRelay so the timer
// periods and their one rule (a failing tick is logged, never thrown) live in
// one place. Every timer is unref'd: none keeps the process alive.
import type { Config } from '../config/index.js';
import type { Logger } from '../admin/log.js';
import type { FixedWindowLimiter } from '../limits/index.js';
import type { SessionHub } from '../session/hub.js';

/** startRelayTimers starts the relay's timers and returns the function that stops them. */
export function startRelayTimers(config: Pick<Config, 'timers' | 'backplane'>, hub: SessionHub, upgradeLimiter: FixedWindowLimiter, log: Logger): () => void {
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        log.error('timer_failed', { error: (err as Error).name });
      }
    }, ms);
    t.unref();
    timers.push(t);
  };
  // Ticking at half the shorter of ping interval and pong timeout detects a dead peer
  // within interval + pong timeout (docs/protocol.md#weak-liveness), not one or two whole intervals.
  every(Math.max(25, Math.floor(Math.min(config.timers.pingIntervalMs, config.timers.pongTimeoutMs) / 2)), () => hub.heartbeat());
  every(config.timers.cleanupIntervalMs, () => {
    hub.cleanup();
    upgradeLimiter.sweep();
  });
  if (config.backplane.presenceSyncEnabled) every(config.backplane.presenceSyncIntervalMs, () => hub.syncPresence());
  return () => {
    for (const t of timers) clearInterval(t);
    timers.length = 0;
  };
}
