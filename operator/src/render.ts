// `render`: every manifest the operator would apply for a ViewportRelay,
// without a cluster. What only a live cluster knows is left out (owner
// references, generated Secret data, the pod template's Secret checksum), so
// `render | kubectl diff --server-side -f -` is empty on an unchanged relay:
// every rendered field carries the value the operator applied, spec hash
// included. The YAML is safe for YAML 1.1 readers (kubectl's).
import YAML from 'yaml';
import { formatProblems, parseRelay } from './api/v1alpha1/relay.js';
import { relayModel, type BuilderConfig } from './desired/model.js';
import { withoutRuntimeValues } from './desired/hash.js';
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
    const desired = desiredState(model, { referenced, existingGenerated: undefined, random: () => GENERATED_PLACEHOLDER });
    objects.push(...desired.map(withoutRuntimeValues));
  });
  if (errors.length === 0 && objects.length === 0) errors.push('no ViewportRelay found in the input');
  return errors.length > 0 ? { ok: false, errors } : { ok: true, objects };
}

/** ambiguous: a plain scalar with this text would not read back as this string in YAML 1.1 (kubectl's reader:
 * yes/no/on/off/y/n, ~, 0755, 1_000, 12:30) or YAML 1.2 (null, true, 1e3, 0o17, .inf). */
export function ambiguous(text: string): boolean {
  for (const version of ['1.1', '1.2'] as const) {
    try {
      if (YAML.parse(text, { version }) !== text) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** yamlDocument prints one object with every ambiguous string (values and keys) double-quoted. */
function yamlDocument(obj: KubeObject): string {
  const doc = new YAML.Document(obj, { version: '1.1', aliasDuplicateObjects: false });
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !node.value.includes('\n') && ambiguous(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/** formatObjects prints objects as a YAML stream or a JSON List. */
export function formatObjects(objects: readonly KubeObject[], output: 'yaml' | 'json'): string {
  if (output === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
  return objects.map((o) => `---\n${yamlDocument(o)}`).join('');
}
