// Relay token claims (docs/protocol.md#claims): the strict shape the platform's validate
// endpoint returns and the relay's JWTs carry. Unknown keys reject.
import { z } from 'zod';

const str = (max: number) => z.string().min(1).max(max);
const intNonNeg = z.number().int().min(0);

export const ROLES = ['workspace-daemon', 'client', 'worker'] as const;
/** Role is fixed at upgrade by the query's `role`. */
export type Role = (typeof ROLES)[number];

export const CLIENT_SCOPES = ['runtime', 'pairing', 'session-events'] as const;
export type ClientScope = (typeof CLIENT_SCOPES)[number];

/** ClaimsSchema validates admission claims; `scope` stays a free string so docs/protocol.md#claim-cross-check can close 4008 on a bad one. */
export const ClaimsSchema = z.strictObject({
  workspaceId: str(128),
  runtimeTargetId: str(128).optional(),
  scope: z.string().max(64).optional(),
  clientId: str(128).optional(),
  machineId: str(255).optional(),
  managedExecutorId: str(128).optional(),
  sessionChannels: z
    .array(z.string().max(255).regex(/^agent-session:.+$/))
    .max(64)
    .optional(),
  e2eeProfile: z.enum(['noise-ik', 'noise-ikpsk2']).optional(),
  daemonIssueGeneration: intNonNeg.optional(),
  role: z.enum(ROLES).optional(),
  sessionIds: z.array(str(128)).max(64).optional(),
  userId: str(128).optional(),
  installId: str(128).optional(),
  policyMode: str(128).optional(),
  daemonPublicKey: str(512).nullable().optional(),
  pairingSecret: str(1024).nullable().optional(),
  relayWsBaseUrl: str(512).nullable().optional(),
  iss: str(255).optional(),
  jti: str(255).optional(),
  aud: z.union([str(255), z.array(str(255))]).optional(),
  iat: z.number().int().optional(),
  exp: z.number().int().optional(),
  nbf: z.number().int().optional(),
  ver: z.number().int().optional(),
});

/** Claims are the admitted peer's validated token claims. */
export type Claims = z.infer<typeof ClaimsSchema>;

/** parseClaims validates an unknown value as Claims, without echoing values in the error. */
export function parseClaims(value: unknown): { ok: true; claims: Claims } | { ok: false; reason: 'INVALID_CLAIMS'; fields: string[] } {
  const parsed = ClaimsSchema.safeParse(value);
  if (parsed.success) return { ok: true, claims: parsed.data };
  return { ok: false, reason: 'INVALID_CLAIMS', fields: parsed.error.issues.map((i) => i.path.join('.') || i.code) };
}
