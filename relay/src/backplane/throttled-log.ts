// A warning that an outsider can trigger at will (a forged Redis entry read on
// every lookup) must not flood the log: one line per event per interval, with
// how many were left out since the last one.
import type { BackplaneLog } from './backplane.js';

/** ThrottledWarn logs event at warn level at most once per interval. */
export type ThrottledWarn = (event: string, fields: Record<string, unknown>) => void;

/** throttledWarn limits log.warn per event name; the names are a fixed set, so its memory is too. */
export function throttledWarn(log: BackplaneLog, now: () => number, intervalMs = 10_000): ThrottledWarn {
  const last = new Map<string, { atMs: number; suppressed: number }>();
  return (event, fields) => {
    const nowMs = now();
    const seen = last.get(event);
    if (seen !== undefined && nowMs - seen.atMs < intervalMs) {
      seen.suppressed += 1;
      return;
    }
    last.set(event, { atMs: nowMs, suppressed: 0 });
    log.warn(event, { ...fields, suppressed: seen?.suppressed ?? 0 });
  };
}
