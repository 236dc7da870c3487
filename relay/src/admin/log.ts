// The relay's logger: @viewport/log printing {ts, level, event, details} JSON
// lines on stdout plus the ring behind GET /logs. Credentials and every field
// that could hold frame contents are redacted at any depth before either sees
// them, so a token or frame body can never reach an operator's terminal.
import { anyKey, createLogger as createJsonLogger, PAYLOAD_KEYS, SECRET_KEYS, type JsonLogger, type LogLevel } from '@viewport/log';

export type { LogEntry, LogLevel } from '@viewport/log';

/** Logger is the relay's log sink: the level methods of @viewport/log, and the kept entries. */
export type Logger = JsonLogger;

/** RELAY_SECRET_KEYS: field names whose values the relay never prints. */
export const RELAY_SECRET_KEYS = anyKey(SECRET_KEYS, PAYLOAD_KEYS);

/** LoggerOptions: ring size, where lines go (stdout by default), clock, and the minimum level printed. */
export interface LoggerOptions {
  readonly maxEntries: number;
  readonly write?: (line: string) => void;
  readonly now?: () => number;
  readonly minLevel?: LogLevel;
}

/** createLogger builds the relay's redacting logger with a bounded ring buffer. */
export function createLogger(options: LoggerOptions): Logger {
  return createJsonLogger({ ...options, layout: 'nested', secretKeys: RELAY_SECRET_KEYS });
}
