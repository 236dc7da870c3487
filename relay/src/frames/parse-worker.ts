// Worker → relay frame validation (docs/protocol.md#frames-worker). Path authorisation is a
// separate step (worker/path.ts); this only checks the frame's shape.
import { Rejection, fieldError, isFieldError, nonEmptyString, optionalString, parseObject, rejected, typeField } from './fields.js';
import { type ParseResult, type WorkerMethod, type WorkerRequest, FrameType } from './frame.js';

/** WORKER_PATH_PREFIX starts every path a worker may tunnel. */
export const WORKER_PATH_PREFIX = '/api/runtime/workspaces/';

function isWorkerMethod(v: unknown): v is WorkerMethod {
  return v === 'GET' || v === 'POST' || v === 'PATCH';
}

/** parseWorkerFrame validates one worker transport request; it never throws. requestId is returned verbatim. */
export function parseWorkerFrame(text: string): ParseResult<WorkerRequest> {
  const label = FrameType.workerRequest;
  const obj = parseObject(text);
  if (isFieldError(obj)) return rejected(obj);
  const type = typeField(obj);
  if (isFieldError(type)) return rejected(type);
  if (type !== label) return rejected(new Rejection('unknown_type', 'type is not a worker frame type'));
  const checked = nonEmptyString(obj, 'requestId', label);
  if (isFieldError(checked)) return rejected(checked);
  const method = obj.method;
  if (!isWorkerMethod(method)) return rejected(fieldError(method, label, 'method', '"GET", "POST" or "PATCH"'));
  const path = obj.path;
  if (typeof path !== 'string' || !path.startsWith(WORKER_PATH_PREFIX)) {
    return rejected(fieldError(path, label, 'path', `a string starting with "${WORKER_PATH_PREFIX}"`));
  }
  const headers = obj.headers;
  if (headers !== undefined && (typeof headers !== 'object' || headers === null || Array.isArray(headers))) {
    return rejected(fieldError(headers, label, 'headers', 'an object'));
  }
  const bodyError = optionalString(obj, 'body', label);
  if (bodyError) return rejected(bodyError);
  const frame: WorkerRequest = { requestId: obj.requestId as string, method, path };
  if (headers !== undefined) frame.headers = headers as Record<string, unknown>;
  if (obj.body !== undefined) frame.body = obj.body as string;
  return { ok: true, frame };
}
