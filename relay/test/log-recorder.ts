// A logger for tests that keeps every entry it is given, level included.
import type { Logger, LogLevel } from '@viewport/log';

export interface RecordedLog {
  readonly level: LogLevel;
  readonly event: string;
  readonly details?: Record<string, unknown> | undefined;
}

/** recordingLogger pushes each call onto `into`, unredacted, for assertions. */
export function recordingLogger(into: RecordedLog[]): Logger {
  const at = (level: LogLevel) => (event: string, details?: Readonly<Record<string, unknown>>) => {
    into.push({ level, event, details });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
