// Redaction: a copy of the fields with every value under a secret-looking key
// replaced, at any depth, so a token can never reach a terminal or a ring.

/** SECRET_KEYS matches field names that carry credentials. */
export const SECRET_KEYS = /(authorization|credential|token|secret|password|api[_-]?key|private[_-]?key|signature|passphrase|hmac)/i;

/** PAYLOAD_KEYS matches field names that carry message contents (a program that moves user data redacts these too). */
export const PAYLOAD_KEYS = /(payload|body|content|frame|message)/i;

/** anyKey matches a field name matched by any of patterns. */
export function anyKey(...patterns: readonly RegExp[]): RegExp {
  return new RegExp(patterns.map((p) => p.source).join('|'), 'i');
}

export const REDACTED = '[redacted]';
const MAX_DEPTH = 8;

/** redact copies a value, replacing every value under a key matching secretKeys with "[redacted]". */
export function redact(value: unknown, secretKeys: RegExp = SECRET_KEYS, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => redact(v, secretKeys, depth + 1));
  // An error's message can quote what failed to parse: keep only its name.
  if (value instanceof Error) return { name: value.name, message: REDACTED };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = secretKeys.test(k) ? REDACTED : redact(v, secretKeys, depth + 1);
    }
    return out;
  }
  return value;
}
