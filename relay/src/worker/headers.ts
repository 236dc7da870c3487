// Header filtering for worker forwarding (docs/protocol.md#worker-transport). Pure: the forwarder
// applies these to what goes to and comes from the platform.

/** WORKER_REQUEST_HEADERS lists the only request headers a worker may pass to the platform (lower-case). */
export const WORKER_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'accept',
  'content-type',
  'x-viewport-run-lease',
  'x-viewport-assignment-claim',
  'x-viewport-worker-fingerprint',
  'x-viewport-worker-timestamp',
  'x-viewport-worker-nonce',
  'x-viewport-worker-body-sha256',
  'x-viewport-worker-signature',
  'x-viewport-server-id',
]);

/** WORKER_RESPONSE_HEADERS_DROPPED lists response headers never returned to a worker. */
export const WORKER_RESPONSE_HEADERS_DROPPED: ReadonlySet<string> = new Set(['authorization', 'set-cookie', 'cookie']);

/**
 * pickRequestHeaders copies allow-listed headers, matched case-insensitively,
 * whose value is a string; the names come out lower-case. When a name appears
 * in several spellings the first one wins.
 */
export function pickRequestHeaders(headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const picked = emptyRecord();
  if (headers === undefined) return picked;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (typeof value === 'string' && WORKER_REQUEST_HEADERS.has(lower) && !(lower in picked)) picked[lower] = value;
  }
  return picked;
}

/** filterResponseHeaders lower-cases names, joins repeated values with ", " and drops credential headers. */
export function filterResponseHeaders(
  entries: Iterable<readonly [string, string | readonly string[] | undefined]>,
): Record<string, string> {
  const out = emptyRecord();
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (value === undefined || WORKER_RESPONSE_HEADERS_DROPPED.has(lower)) continue;
    const text = typeof value === 'string' ? value : value.join(', ');
    out[lower] = lower in out ? `${out[lower]}, ${text}` : text;
  }
  return out;
}

// Null-prototype records, so header names such as "__proto__" or
// "constructor" are plain keys and never reach Object.prototype.
function emptyRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
