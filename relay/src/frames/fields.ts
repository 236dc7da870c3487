// Field checks shared by the frame parsers. Each check returns the checked
// value, or a Rejection; error objects and detail strings are only built on
// the failure path, so a valid frame costs no allocations here.
import type { FrameError, FrameRejectReason, ParseResult, Profile } from './frame.js';
import { MAX_FRAME_DEPTH, MAX_FRAME_VALUES, shapeProblem } from './nesting.js';
import { isProfile } from './profile.js';

/** JsonObject is a parsed JSON object whose fields are still unchecked. */
export type JsonObject = Record<string, unknown>;

/**
 * Rejection is the FrameError the parsers produce. It is a class so a check's
 * failure can be told from a checked value by identity: a peer's JSON object
 * may itself have `reason` and `detail` fields.
 */
export class Rejection implements FrameError {
  // The private brand makes the type nominal, so a plain object literal cannot pose as one.
  readonly #brand = true;
  readonly reason: FrameRejectReason;
  readonly detail: string;

  constructor(reason: FrameRejectReason, detail: string) {
    this.reason = reason;
    this.detail = detail;
  }
}

/** FieldResult is a checked value or the rejection of the frame. */
export type FieldResult<T> = T | Rejection;

/** isFieldError tells a failed check from a checked value. */
export function isFieldError<T>(r: FieldResult<T>): r is Rejection {
  return r instanceof Rejection;
}

/** fieldError builds the rejection for one field; missing when undefined, invalid otherwise. */
export function fieldError(value: unknown, label: string, key: string, rule: string): Rejection {
  return value === undefined
    ? new Rejection('missing_field', `${label}.${key} is required`)
    : new Rejection('invalid_field', `${label}.${key} must be ${rule}`);
}

/** rejected wraps an error as a failed ParseResult. */
export function rejected<T>(error: FrameError): ParseResult<T> {
  return { ok: false, error };
}

const SHAPE_DETAIL = {
  too_deep: `frame nests deeper than ${MAX_FRAME_DEPTH} levels`,
  too_wide: `frame holds more than ${MAX_FRAME_VALUES} values`,
} as const;

/** parseObject runs the one JSON.parse of a frame, after the shape pre-scan (nesting.ts), and insists on a non-array object. */
export function parseObject(text: string): FieldResult<JsonObject> {
  const problem = shapeProblem(text);
  if (problem !== undefined) return new Rejection(problem, SHAPE_DETAIL[problem]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new Rejection('not_json', 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new Rejection('not_object', 'frame must be a JSON object');
  }
  return value as JsonObject;
}

/** nonEmptyString returns the trimmed value of a required string that is non-empty after trim. */
export function nonEmptyString(obj: JsonObject, key: string, label: string): FieldResult<string> {
  const v = obj[key];
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.length > 0) return t;
  }
  return fieldError(v, label, key, 'a non-empty string');
}

/** anyString returns the trimmed value of a required string that may be empty. */
export function anyString(obj: JsonObject, key: string, label: string): FieldResult<string> {
  const v = obj[key];
  return typeof v === 'string' ? v.trim() : fieldError(v, label, key, 'a string');
}

/** optionalString accepts an absent field, or a string of at most maxLength characters when a limit is given. */
export function optionalString(obj: JsonObject, key: string, label: string, maxLength?: number): Rejection | undefined {
  const v = obj[key];
  if (v === undefined || (typeof v === 'string' && (maxLength === undefined || v.length <= maxLength))) return undefined;
  const rule = maxLength === undefined ? 'a string' : `a string of at most ${maxLength} characters`;
  return new Rejection('invalid_field', `${label}.${key} must be ${rule}`);
}

/** integerAtLeast returns a required integer that is >= min. */
export function integerAtLeast(obj: JsonObject, key: string, label: string, min: number): FieldResult<number> {
  const v = obj[key];
  return Number.isSafeInteger(v) && (v as number) >= min ? (v as number) : fieldError(v, label, key, `an integer >= ${min}`);
}

/** finiteNumber returns a required finite number. */
export function finiteNumber(obj: JsonObject, key: string, label: string): FieldResult<number> {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fieldError(v, label, key, 'a finite number');
}

/** profileField returns the required E2EE profile. */
export function profileField(obj: JsonObject, label: string): FieldResult<Profile> {
  const v = obj.profile;
  return isProfile(v) ? v : fieldError(v, label, 'profile', '"noise-ik" or "noise-ikpsk2"');
}

/** versionField returns the version when it is one of the allowed values. */
export function versionField(obj: JsonObject, label: string, allowed: readonly number[]): FieldResult<number> {
  const v = obj.version;
  return typeof v === 'number' && allowed.includes(v) ? v : fieldError(v, label, 'version', allowed.join(' or '));
}

/** sessionChannel returns the trimmed channel, which must start with "agent-session:". */
export function sessionChannel(obj: JsonObject, label: string, prefix: string): FieldResult<string> {
  const v = obj.channel;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith(prefix)) return t;
  }
  return fieldError(v, label, 'channel', `a string starting with "${prefix}"`);
}

/** typeField returns the frame's `type`, which must be a string; the caller judges the value. */
export function typeField(obj: JsonObject): FieldResult<string> {
  const type = obj.type;
  if (typeof type === 'string') return type;
  return type === undefined
    ? new Rejection('missing_field', 'type is required')
    : new Rejection('invalid_field', 'type must be a string');
}

/** booleanField returns a required boolean. */
export function booleanField(obj: JsonObject, key: string, label: string): FieldResult<boolean> {
  const v = obj[key];
  return typeof v === 'boolean' ? v : fieldError(v, label, key, 'a boolean');
}

/** FieldCheck is any single-field check. */
export type FieldCheck = (obj: JsonObject, key: string, label: string) => FieldResult<unknown>;

/** everyField runs check on each key and returns the first error, if any. */
export function everyField(obj: JsonObject, keys: readonly string[], label: string, check: FieldCheck): Rejection | undefined {
  for (const key of keys) {
    const r = check(obj, key, label);
    if (isFieldError(r)) return r;
  }
  return undefined;
}
