// `render`: every manifest the operator would apply for a ViewportRelay,
// without a cluster. Generated Secret values are placeholders (the operator
// draws real ones at apply time), and owner references are left out (no uid).
import YAML from 'yaml';
import { formatProblems, parseRelay } from './api/v1alpha1/relay.js';
import { relayModel, type BuilderConfig } from './desired/model.js';
import { desiredState, userSecretRefs } from './desired/state.js';
import type { KubeObject } from './object.js';

/** GENERATED_PLACEHOLDER stands in for generated Secret values in rendered output. */
export const GENERATED_PLACEHOLDER = 'generated-by-operator';

/** RenderResult is the manifests of every relay in the input, or the problems found. */
export type RenderResult = { ok: true; objects: KubeObject[] } | { ok: false; errors: string[] };

/** renderRelays parses a (multi-document) YAML string and renders every ViewportRelay in it. */
export function renderRelays(yamlText: string, cfg: BuilderConfig): RenderResult {
  const errors: string[] = [];
  const objects: KubeObject[] = [];
  const docs = YAML.parseAllDocuments(yamlText);
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      errors.push(`document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const parsed = parseRelay(value);
    if (!parsed.ok) {
      errors.push(`document ${i + 1}: ${formatProblems(parsed.problems)}`);
      return;
    }
    const model = relayModel({ ...parsed.relay, metadata: { ...parsed.relay.metadata, uid: undefined } }, cfg);
    const referenced = userSecretRefs(model).map((r) => ({ ...r, value: undefined }));
    objects.push(...desiredState(model, { referenced, existingGenerated: undefined, random: () => GENERATED_PLACEHOLDER }));
  });
  if (errors.length === 0 && objects.length === 0) errors.push('no ViewportRelay found in the input');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, objects };
}

/** formatObjects prints objects as a YAML stream or a JSON List. */
export function formatObjects(objects: readonly KubeObject[], output: 'yaml' | 'json'): string {
  if (output === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
  return objects.map((o) => `---\n${YAML.stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
