// Post-upgrade claim cross-check (docs/protocol.md#claim-cross-check), pure. Failures close 4008 with
// the listed reason; the effective runtime target is the claim, else the query.
import { CloseReason, type RelayCloseReason } from '../frames/index.js';
import { CLIENT_SCOPES, type Claims, type ClientScope, type Role } from './claims.js';

export interface QueryIds {
  readonly role: Role;
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
}

/** CrossCheck: the peer's effective scope, or a 4008 reason (with RUNTIME_TARGET_REQUIRED first when flagged). */
export type CrossCheck =
  | { ok: true; workspaceId: string; runtimeTargetId: string | undefined; clientScope: ClientScope | undefined }
  | { ok: false; reason: RelayCloseReason; sendTargetRequired: boolean };

/**
 * crossCheckClaims runs the docs/protocol.md#claim-cross-check rules in order. A client without a scope claim
 * is a runtime client. Pairing clients also need a target (docs/protocol.md#weak-pairing-target): without one
 * they could never reach a daemon.
 */
export function crossCheckClaims(query: QueryIds, claims: Claims): CrossCheck {
  const claimWs = claims.workspaceId.trim();
  if (claimWs === '') return { ok: false, reason: CloseReason.missingWorkspaceClaim, sendTargetRequired: false };
  if (claimWs !== query.workspaceId.trim()) return { ok: false, reason: CloseReason.workspaceClaimMismatch, sendTargetRequired: false };
  const claimTarget = claims.runtimeTargetId?.trim() || undefined;
  if (query.runtimeTargetId !== undefined && claimTarget !== undefined && claimTarget !== query.runtimeTargetId) {
    return { ok: false, reason: CloseReason.runtimeTargetClaimMismatch, sendTargetRequired: false };
  }
  let clientScope: ClientScope | undefined;
  if (query.role === 'client') {
    const raw = claims.scope ?? 'runtime';
    if (!(CLIENT_SCOPES as readonly string[]).includes(raw)) {
      return { ok: false, reason: CloseReason.invalidScopeClaim, sendTargetRequired: false };
    }
    clientScope = raw as ClientScope;
  }
  const target = claimTarget ?? query.runtimeTargetId;
  const needsTarget = query.role === 'workspace-daemon' || query.role === 'client';
  if (needsTarget && target === undefined) {
    return { ok: false, reason: CloseReason.missingRuntimeTargetClaim, sendTargetRequired: true };
  }
  return { ok: true, workspaceId: claimWs, runtimeTargetId: query.role === 'worker' ? undefined : target, clientScope };
}
