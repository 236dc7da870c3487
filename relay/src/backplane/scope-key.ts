import type { ScopeRef } from './backplane.js';

/**
 * scopeKey is an unambiguous string for a scope (docs/protocol.md#weak-scope-key): each id is
 * percent-encoded, so ":" only ever separates workspace from target and
 * `a:b` without a target never collides with `a` plus target `b`.
 */
export function scopeKey(scope: ScopeRef): string {
  const workspace = encodeURIComponent(scope.workspaceId);
  return scope.runtimeTargetId === undefined ? workspace : `${workspace}:${encodeURIComponent(scope.runtimeTargetId)}`;
}
