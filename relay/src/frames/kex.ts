import type { Profile } from './frame.js';
import { type JsonObject, type Rejection, anyString, everyField, isFieldError, profileField, versionField } from './fields.js';

/** KexHead is what both kex directions share: version 2 or 3, profile and a (possibly empty) trimmed requestId. */
export interface KexHead {
  version: number;
  profile: Profile;
  requestId: string;
}

const KEX_VERSIONS = [2, 3] as const;

/**
 * checkKexHead validates the fields common to kex init and response, then the
 * version-specific string fields (`v3Fields` or `v2Fields`), which may be empty.
 */
export function checkKexHead(
  obj: JsonObject,
  label: string,
  v3Fields: readonly string[],
  v2Fields: readonly string[],
): KexHead | Rejection {
  const version = versionField(obj, label, KEX_VERSIONS);
  if (isFieldError(version)) return version;
  const profile = profileField(obj, label);
  if (isFieldError(profile)) return profile;
  const requestId = anyString(obj, 'requestId', label);
  if (isFieldError(requestId)) return requestId;
  return everyField(obj, version === 3 ? v3Fields : v2Fields, label, anyString) ?? { version, profile, requestId };
}
