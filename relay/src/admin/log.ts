// Structured logging: one JSON line per entry on stdout plus an in-memory ring
// behind GET /logs. Details are redacted recursively before either sees them,
// so a token or frame body can never reach an operator's terminal.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** LogEntry is one structured log record. */
export interface LogEntry {
  readonly ts: string;
  readonly level: LogLevel;
  readonly event: string;
  readonly details?: Record<string, unknown>;
}

/** Logger is the relay's log sink; entries never contain secrets (see redact). */
export interface Logger {
  log(level: LogLevel, event: string, details?: Record<string, unknown>): void;
  entries(): readonly LogEntry[];
}

const SECRET_KEY = /(authorization|credential|token|secret|password|api[_-]?key|private[_-]?key|signature|payload|body|content|frame|message|passphrase|hmac)/i;
const MAX_DEPTH = 8;

/** redact copies a value, replacing every value under a secret-looking key with "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: '[redacted]' };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

/** LoggerOptions: ring size, where lines go (stdout by default), clock, and the minimum level printed. */
export interface LoggerOptions {
  readonly maxEntries: number;
  readonly write?: (line: string) => void;
  readonly now?: () => number;
  readonly minLevel?: LogLevel;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** createLogger builds a redacting logger with a bounded ring buffer. */
export function createLogger(options: LoggerOptions): Logger {
  const ring: LogEntry[] = [];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const min = LEVEL_ORDER[options.minLevel ?? 'info'];
  return {
    log(level, event, details) {
      if (LEVEL_ORDER[level] < min) return;
      const entry: LogEntry = {
        ts: new Date(now()).toISOString(),
        level,
        event,
        ...(details ? { details: redact(details) as Record<string, unknown> } : {}),
      };
      ring.push(entry);
      if (ring.length > options.maxEntries) ring.splice(0, ring.length - options.maxEntries);
      write(JSON.stringify(entry));
    },
    entries: () => ring.slice(),
  };
}
