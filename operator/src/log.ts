// The operator's logger: @viewport/log printing flat {ts, level, event,
// ...fields} JSON lines on stdout, credential-looking fields redacted. Callers
// pass names and reasons, never Secret values; redaction is the second guard.
import { createLogger, type Logger, type LogLevel } from '@viewport/log';

export { silentLogger, type Logger } from '@viewport/log';

/** jsonLogger writes one JSON object per line at minLevel and above; time comes from the caller's clock. */
export function jsonLogger(now: () => number, minLevel: LogLevel = 'info'): Logger {
  return createLogger({ layout: 'flat', now, minLevel });
}
