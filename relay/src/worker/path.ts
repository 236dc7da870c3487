// Worker path authorisation (docs/protocol.md#worker-transport;
// docs/protocol.md#weak-worker-path). The reference compared the raw string and resolved `..` afterwards, so `…/managed-executors/A/../B` reached
// executor B. Here the path is split and percent-decoded first, anything that
// a server could resolve differently from how we read it is refused, and only
// then is the managed-executor prefix compared, segment by segment.

/** WorkerPathDenyReason says why a path was refused: malformed or ambiguous, or outside the worker's prefix. */
export type WorkerPathDenyReason = 'PATH_INVALID' | 'PATH_DENIED';

/** WorkerPathDecision is the outcome of authorizeWorkerPath. */
export type WorkerPathDecision = { ok: true; path: string } | { ok: false; reason: WorkerPathDenyReason };

/** WORKER_PATH_MAX_LENGTH bounds the paths a worker may tunnel. */
export const WORKER_PATH_MAX_LENGTH = 8192;

// RFC 3986 pchar characters plus "/" and "%": no space, backslash, `?`, `#`,
// control or non-ASCII characters in the raw path.
const RAW_PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]+$/;
const PERCENT_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// After decoding, a segment must be printable ASCII without separators or a
// second level of escaping (%25 would be decoded twice by a sloppy server).
const DECODED_SEGMENT = /^[\x20-\x7e]+$/;
const DECODED_FORBIDDEN = /[/\\?#%]/;

const INVALID: WorkerPathDecision = Object.freeze({ ok: false, reason: 'PATH_INVALID' });
const DENIED: WorkerPathDecision = Object.freeze({ ok: false, reason: 'PATH_DENIED' });

/**
 * decodeWorkerPath returns the decoded segments of an absolute path, or null
 * when the path is ambiguous: dot segments (also percent-encoded, also with a
 * `;` parameter), empty
 * segments (`//`), encoded separators, `?`, `#`, backslashes, control or
 * non-ASCII characters, malformed escapes. A single trailing slash is allowed.
 */
export function decodeWorkerPath(rawPath: string): string[] | null {
  if (rawPath.length > WORKER_PATH_MAX_LENGTH || !rawPath.startsWith('/')) return null;
  if (!RAW_PATH_CHARS.test(rawPath) || PERCENT_ESCAPE.test(rawPath)) return null;
  const raw = rawPath.slice(1).split('/');
  const segments: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i] as string;
    if (segment === '') {
      if (i === raw.length - 1 && i > 0) break;
      return null;
    }
    const decoded = decodeSegment(segment);
    if (decoded === null || isDotSegment(decoded)) return null;
    if (!DECODED_SEGMENT.test(decoded) || DECODED_FORBIDDEN.test(decoded)) return null;
    segments.push(decoded);
  }
  return segments;
}

/**
 * isDotSegment: `.` or `..`, also once a `;` path parameter is stripped (`..;`, `..;x=1`, `.;`), because
 * servers that normalise the Tomcat/Spring way drop the parameter and then resolve the dot segment.
 * A segment that is empty before its `;` is refused too: such a server reads it as `//`.
 */
function isDotSegment(decoded: string): boolean {
  const semi = decoded.indexOf(';');
  const bare = semi === -1 ? decoded : decoded.slice(0, semi);
  return bare === '.' || bare === '..' || bare === '';
}

function decodeSegment(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    // Escapes that are not valid UTF-8 cannot be read unambiguously.
    return null;
  }
}

/**
 * authorizeWorkerPath allows a worker path only when, after decoding, it is
 * `/api/runtime/workspaces/{workspaceId}/managed-executors/{managedExecutorId}`
 * or below it. Comparing decoded segments is the same rule as the reference
 * relay's encodeURIComponent prefix, without being fooled by equivalent spellings.
 * The returned path is the input, proven to decode to the checked segments.
 */
export function authorizeWorkerPath(
  rawPath: string,
  workspaceId: string,
  managedExecutorId: string | undefined,
): WorkerPathDecision {
  const segments = decodeWorkerPath(rawPath);
  if (segments === null) return INVALID;
  if (managedExecutorId === undefined || managedExecutorId === '' || workspaceId === '') return DENIED;
  const prefix = ['api', 'runtime', 'workspaces', workspaceId, 'managed-executors', managedExecutorId];
  if (segments.length < prefix.length) return DENIED;
  for (let i = 0; i < prefix.length; i++) {
    if (segments[i] !== prefix[i]) return DENIED;
  }
  return { ok: true, path: rawPath };
}
