// Waiting on conditions: poll a check until it holds, with a deadline and a
// description that ends up in the error.

/** waitFor polls `check` every intervalMs until it returns a value other than
 * undefined, and returns it; after timeoutMs it throws naming `what` and the last
 * reason the check gave. `abort` ends the wait early (for instance when a process died). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  o: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const intervalMs = o.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const aborted = o.abort?.();
    if (aborted !== undefined) throw new Error(`gave up waiting for ${what}: ${aborted}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
