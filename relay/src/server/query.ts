// Upgrade query (docs/protocol.md#upgrade-query): role, workspaceId, optional runtimeTargetId, and
// the dev-only token. Other parameters are ignored.
import { z } from 'zod';
import { ROLES, type Role } from '../admission/claims.js';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/);

const QuerySchema = z.object({
  role: z.enum(ROLES),
  workspaceId: Id,
  runtimeTargetId: Id.optional(),
  token: z.string().optional(),
});

/** UpgradeQuery is a validated /ws query. */
export interface UpgradeQuery {
  readonly role: Role;
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
  readonly token?: string | undefined;
}

/** parseUpgradeQuery validates the query; a present-but-empty runtimeTargetId fails, a repeated key fails. */
export function parseUpgradeQuery(params: URLSearchParams): { ok: true; query: UpgradeQuery } | { ok: false; fields: string[] } {
  const raw: Record<string, string> = {};
  for (const key of ['role', 'workspaceId', 'runtimeTargetId', 'token']) {
    const all = params.getAll(key);
    if (all.length > 1) return { ok: false, fields: [key] };
    if (all.length === 1) raw[key] = all[0] as string;
  }
  const parsed = QuerySchema.safeParse(raw);
  if (!parsed.success) return { ok: false, fields: parsed.error.issues.map((i) => i.path.join('.')) };
  return { ok: true, query: parsed.data };
}
