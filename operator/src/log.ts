// Logger: JSON lines on stdout/stderr. Callers pass names and reasons, never
// Secret values.

/** Logger is the operator's structured logger. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** jsonLogger writes one JSON object per line; time comes from the caller's clock. */
export function jsonLogger(now: () => number, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const emit = (level: string) => (event: string, fields: Record<string, unknown> = {}) => {
    write(`${JSON.stringify({ ts: new Date(now()).toISOString(), level, event, ...fields })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** silentLogger drops everything (tests). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
