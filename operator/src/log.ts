// The operator's logger: @viewport/log printing flat {ts, level, event,
// ...fields} JSON lines on stdout, credential-looking fields redacted. Callers
// pass names and reasons, never Secret values; redaction is the second guard.
import { createLogger, type Logger } from '@viewport/log';

export { silentLogger, type Logger } from '@viewport/log';

/** jsonLogger writes one JSON object per line; time comes from the caller's clock. */
export function jsonLogger(now: () => number): Logger {
  return createLogger({ layout: 'flat', now });
}
