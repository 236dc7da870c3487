// A promise that settles by a deadline: the relay's waits on the backplane
// (presence reads before the 101, drain, close) must never hang an upgrade or
// a shutdown on a slow store. Apart so the upgrade and shutdown steps share it.

/** withTimeout resolves with p's value, or with fallback when p rejects or ms pass first. */
export function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(fallback);
      },
    );
  });
}
