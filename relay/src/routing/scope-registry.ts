// Scopes keyed on the pair (workspaceId, runtimeTargetId?) with nested maps,
// so `a:b` + no target can never collide with `a` + target `b` (docs/protocol.md#weak-scope-key).
import { newScope, type ScopeState, type TableLimits } from './scope.js';

/** ScopeRegistry owns every scope of this relay. */
export class ScopeRegistry<P> {
  private readonly byWorkspace = new Map<string, Map<string | null, ScopeState<P>>>();
  // Counted as scopes come and go: size is read on every connect and close.
  private count = 0;

  constructor(private readonly limits: TableLimits) {}

  /** get returns the scope or undefined; it never creates one. */
  get(workspaceId: string, runtimeTargetId: string | undefined): ScopeState<P> | undefined {
    return this.byWorkspace.get(workspaceId)?.get(runtimeTargetId ?? null);
  }

  /** ensure returns the scope, creating it on first use. */
  ensure(workspaceId: string, runtimeTargetId: string | undefined, now: number): ScopeState<P> {
    let targets = this.byWorkspace.get(workspaceId);
    if (!targets) {
      targets = new Map();
      this.byWorkspace.set(workspaceId, targets);
    }
    const key = runtimeTargetId ?? null;
    let scope = targets.get(key);
    if (!scope) {
      scope = newScope<P>(workspaceId, runtimeTargetId, this.limits, now);
      targets.set(key, scope);
      this.count += 1;
    }
    return scope;
  }

  delete(scope: ScopeState<P>): void {
    const targets = this.byWorkspace.get(scope.workspaceId);
    if (!targets) return;
    const key = scope.runtimeTargetId ?? null;
    // Only the registered scope itself: a stale one must not remove its successor or miscount.
    if (targets.get(key) !== scope) return;
    targets.delete(key);
    this.count -= 1;
    if (targets.size === 0) this.byWorkspace.delete(scope.workspaceId);
  }

  *all(): IterableIterator<ScopeState<P>> {
    for (const targets of this.byWorkspace.values()) yield* targets.values();
  }

  get size(): number {
    return this.count;
  }
}
