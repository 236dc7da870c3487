import type { Profile } from './frame.js';
import { type JsonObject, type Rejection, everyField, integerAtLeast, isFieldError, nonEmptyString, profileField, versionField } from './fields.js';

/** E2eeView is what routing needs from an e2ee envelope; it is both a ClientFrame and a DaemonFrame. */
export interface E2eeView {
  kind: 'e2ee';
  profile: Profile;
  sessionId: string;
  version: number;
}

const LABEL = 'e2ee';
const VERSIONS = [2] as const;
const OPAQUE_FIELDS = ['iv', 'tag', 'ciphertext'] as const;

/**
 * checkE2ee validates an e2ee envelope (docs/protocol.md#frames-client, the same for clients and
 * daemons): version 2, profile, sessionId, epoch and seq >= 1, and non-empty
 * iv, tag and ciphertext. The ciphertext itself is never inspected.
 */
export function checkE2ee(obj: JsonObject): E2eeView | Rejection {
  const version = versionField(obj, LABEL, VERSIONS);
  if (isFieldError(version)) return version;
  const profile = profileField(obj, LABEL);
  if (isFieldError(profile)) return profile;
  const sessionId = nonEmptyString(obj, 'sessionId', LABEL);
  if (isFieldError(sessionId)) return sessionId;
  const epoch = integerAtLeast(obj, 'epoch', LABEL, 1);
  if (isFieldError(epoch)) return epoch;
  const seq = integerAtLeast(obj, 'seq', LABEL, 1);
  if (isFieldError(seq)) return seq;
  return everyField(obj, OPAQUE_FIELDS, LABEL, nonEmptyString) ?? { kind: 'e2ee', profile, sessionId, version };
}
