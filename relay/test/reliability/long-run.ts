// The reliability suite's one setting: RELIABILITY_LONG=1 (npm run test:soak)
// turns the fast checks into the long runs the docs quote. Read once, here only.

/** LONG is true for the long runs (RELIABILITY_LONG=1). */
export const LONG = process.env.RELIABILITY_LONG === '1';

/** scaled picks the fast or the long value of a knob. */
export function scaled<T>(fast: T, long: T): T {
  return LONG ? long : fast;
}

/** report prints one measured figure line, prefixed so CI logs can be grepped. */
export function report(line: string): void {
  process.stdout.write(`[reliability${LONG ? ' long' : ''}] ${line}\n`);
}

/** SOAK_SECONDS is the soak's length: RELIABILITY_SOAK_SECONDS, else 20 s (fast) or 30 min (long). */
export const SOAK_SECONDS = Number(process.env.RELIABILITY_SOAK_SECONDS ?? '') || scaled(20, 30 * 60);
