// RBAC rules the operator needs, derived from KINDS so the chart can never
// grant less than the kube adapter uses.
import { apiGroupOf, KINDS } from './kinds.js';

/** PolicyRule is rbac.authorization.k8s.io/v1 PolicyRule (the fields we use). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** rbacRules groups KINDS (except those with their own Role) by API group and verb set into ClusterRole (or Role) rules. */
export function rbacRules(): PolicyRule[] {
  const byGroupAndVerbs = new Map<string, PolicyRule>();
  for (const k of KINDS.filter((kind) => kind.ownRole !== true)) {
    const group = apiGroupOf(k.apiVersion);
    const verbs = [...k.verbs].sort();
    const key = `${group}|${verbs.join(',')}`;
    const rule = byGroupAndVerbs.get(key) ?? { apiGroups: [group], resources: [], verbs };
    rule.resources.push(k.plural);
    byGroupAndVerbs.set(key, rule);
  }
  return [...byGroupAndVerbs.values()]
    .map((r) => ({ ...r, resources: [...r.resources].sort() }))
    .sort((a, b) => (a.apiGroups[0] ?? '').localeCompare(b.apiGroups[0] ?? '') || a.resources[0]!.localeCompare(b.resources[0]!));
}
