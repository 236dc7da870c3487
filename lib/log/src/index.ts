// @viewport/log: the structured, redacting logger of the relay and the operator.
export { createLogger, silentLogger, type JsonLogger, type LogEntry, type LogFields, type Logger, type LoggerOptions, type LogLevel } from './logger.js';
export { anyKey, PAYLOAD_KEYS, redact, REDACTED, SECRET_KEYS } from './redact.js';
