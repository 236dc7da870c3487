// Logger: one JSON line per entry, fields redacted before anything sees them,
// optionally the last entries kept in memory (the relay's GET /logs).
import { redact, SECRET_KEYS } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** LogFields are an entry's structured fields: names and reasons, never payloads. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Logger is the shape both programs log through: a level method, a snake_case event name, fields. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** LogEntry is one kept record (fields already redacted). */
export interface LogEntry {
  readonly ts: string;
  readonly level: LogLevel;
  readonly event: string;
  readonly details?: Record<string, unknown>;
}

/** JsonLogger is a Logger that also keeps its last entries. */
export interface JsonLogger extends Logger {
  /** entries returns the kept entries, oldest first. */
  entries(): readonly LogEntry[];
}

/**
 * LoggerOptions. layout: "nested" prints {ts, level, event, details} (the
 * relay's documented line), "flat" prints {ts, level, event, ...fields} (the
 * operator's). secretKeys: field names whose values are redacted.
 */
export interface LoggerOptions {
  readonly layout: 'nested' | 'flat';
  readonly maxEntries?: number;
  readonly write?: (line: string) => void;
  readonly now?: () => number;
  readonly minLevel?: LogLevel;
  readonly secretKeys?: RegExp;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** createLogger builds a redacting JSON-line logger; write gets each line without its newline (stdout by default). */
export function createLogger(options: LoggerOptions): JsonLogger {
  const ring: LogEntry[] = [];
  const maxEntries = options.maxEntries ?? 0;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const min = LEVEL_ORDER[options.minLevel ?? 'info'];
  const secretKeys = options.secretKeys ?? SECRET_KEYS;
  const log = (level: LogLevel, event: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[level] < min) return;
    const details = fields ? (redact(fields, secretKeys) as Record<string, unknown>) : undefined;
    const entry: LogEntry = { ts: new Date(now()).toISOString(), level, event, ...(details ? { details } : {}) };
    if (maxEntries > 0) {
      ring.push(entry);
      if (ring.length > maxEntries) ring.splice(0, ring.length - maxEntries);
    }
    write(JSON.stringify(options.layout === 'nested' ? entry : { ts: entry.ts, level, event, ...details }));
  };
  return {
    debug: (event, fields) => log('debug', event, fields),
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
    entries: () => ring.slice(),
  };
}

/** silentLogger drops everything (tests). */
export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
