// Conditions lets the probe's sequential steps wait for state that socket
// handlers change: handlers call notify() after every change, and each
// waiter re-checks its own predicate. Timers are cleared as soon as it holds.

/** Conditions is a set of pending waits re-evaluated on every notify(). */
export class Conditions {
  private readonly waiters = new Set<() => void>();

  /** notify re-checks every pending wait; call it after any state change. */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** waitUntil resolves with the first defined value of `check`, or undefined after timeoutMs. */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const first = check();
      if (first !== undefined) {
        resolve(first);
        return;
      }
      const waiter = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
