// The whole ViewportRelay object and its parser: zod shape checks plus the
// cross-field SPEC_RULES, reported as one value with every problem listed.
import { z } from 'zod';
import { RELAY_API_VERSION, RELAY_KIND } from './group.js';
import { SPEC_RULES } from './rules.js';
import { ViewportRelaySpec } from './spec.js';
import { ViewportRelayStatus } from './status.js';

/** ViewportRelaySpecChecked is the spec schema with the cross-field rules attached. */
export const ViewportRelaySpecChecked = ViewportRelaySpec.superRefine((spec, ctx) => {
  for (const rule of SPEC_RULES) {
    if (!rule.holds(spec)) {
      ctx.addIssue({
        code: 'custom',
        message: rule.message,
        path: rule.fieldPath.split('.').filter((p) => p !== ''),
        params: { rule: rule.id },
      });
    }
  }
});

/** MAX_RELAY_NAME_LENGTH leaves room for child suffixes (-generated, -redis, -<ordinal>) within 63. */
export const MAX_RELAY_NAME_LENGTH = 40;

const Meta = z.looseObject({
  name: z.string().min(1).max(MAX_RELAY_NAME_LENGTH, `metadata.name must be at most ${MAX_RELAY_NAME_LENGTH} characters: child names add suffixes`),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** ViewportRelay is a whole custom resource as read from the API or a file. */
export const ViewportRelay = z.looseObject({
  apiVersion: z.literal(RELAY_API_VERSION),
  kind: z.literal(RELAY_KIND),
  metadata: Meta,
  spec: ViewportRelaySpecChecked,
  status: ViewportRelayStatus.optional(),
});
export type ViewportRelay = z.infer<typeof ViewportRelay>;

/** SpecProblem is one validation finding, path in dotted form (spec.backplane.redis). */
export interface SpecProblem {
  readonly path: string;
  readonly message: string;
}

/** ParseRelayResult: a parsed relay or every problem found. */
export type ParseRelayResult = { ok: true; relay: ViewportRelay } | { ok: false; problems: SpecProblem[] };

/** parseRelay validates an untrusted object (API read, YAML file) as a ViewportRelay. */
export function parseRelay(input: unknown): ParseRelayResult {
  const parsed = ViewportRelay.safeParse(input);
  if (parsed.success) return { ok: true, relay: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(root)',
      message: issue.message,
    })),
  };
}

/** formatProblems renders problems as one line each, for status messages and CLI errors. */
export function formatProblems(problems: readonly SpecProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}
