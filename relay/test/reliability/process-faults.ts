// Records unhandled rejections and uncaught exceptions in the test process, so
// a test can assert that nothing the relay core did escaped its handlers.

/** ProcessFaults lists what reached the process-level hooks while watching. */
export interface ProcessFaults {
  seen(): string[];
  stop(): void;
}

/** watchProcessFaults adds process-level listeners until stop(). */
export function watchProcessFaults(): ProcessFaults {
  const seen: string[] = [];
  const onRejection = (reason: unknown) => seen.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
  const onException = (err: Error) => seen.push(`uncaughtException: ${err.stack ?? String(err)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    seen: () => [...seen],
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
