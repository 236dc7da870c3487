import { describe, expect, it } from 'vitest';
import { buildCrd, toStructural } from './crd.js';
import { SPEC_RULES } from './rules.js';

type Node = Record<string, unknown>;
const crd = buildCrd() as { spec: { names: Node; scope: string; versions: Node[] } };
const version = crd.spec.versions[0]!;
const schema = (version.schema as { openAPIV3Schema: Node }).openAPIV3Schema;
const props = schema.properties as Record<string, Node>;

function walk(node: unknown, visit: (n: Node, path: string) => void, path = ''): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, visit, `${path}[${i}]`));
  else if (node !== null && typeof node === 'object') {
    visit(node as Node, path);
    for (const [k, v] of Object.entries(node)) walk(v, visit, `${path}/${k}`);
  }
}

describe('generated CRD', () => {
  it('has the agreed identity', () => {
    expect(crd.spec.names).toEqual({
      kind: 'ViewportRelay',
      listKind: 'ViewportRelayList',
      plural: 'viewportrelays',
      singular: 'viewportrelay',
      shortNames: ['vrelay'],
      categories: ['viewport'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(version.name).toBe('v1alpha1');
  });

  it('has status and scale subresources', () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
  });

  it('has the printer columns Ready, Reason, Replicas, Endpoint, Age (and Mode with -o wide)', () => {
    expect((version.additionalPrinterColumns as Node[]).map((c) => c.name)).toEqual(['Ready', 'Reason', 'Replicas', 'Endpoint', 'Age', 'Mode']);
    expect((version.additionalPrinterColumns as Node[]).filter((c) => c.priority === undefined).map((c) => c.name)).toEqual(['Ready', 'Reason', 'Replicas', 'Endpoint', 'Age']);
  });

  it('carries every spec rule as CEL with its message and field', () => {
    const rules = props.spec!['x-kubernetes-validations'];
    expect(rules).toEqual(SPEC_RULES.map((r) => ({ rule: r.cel, message: r.message, fieldPath: r.fieldPath })));
  });

  it('is structural: no $ref, unions, defaults or closed objects', () => {
    const bad: string[] = [];
    walk(schema, (n, path) => {
      for (const key of ['$ref', '$defs', 'anyOf', 'oneOf', 'allOf', 'default', 'propertyNames', '$schema']) {
        if (key in n && path.split('/').pop() !== 'properties') bad.push(`${path}/${key}`);
      }
      if (n.additionalProperties === false) bad.push(`${path}/additionalProperties:false`);
      if ('properties' in n && 'additionalProperties' in n) bad.push(`${path}: properties with additionalProperties`);
    });
    expect(bad).toEqual([]);
  });

  it('marks conditions as a map list keyed by type', () => {
    const conditions = (props.status!.properties as Record<string, Node>).conditions!;
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
  });

  it('marks int-or-string and free-form fields', () => {
    const pdb = (props.spec!.properties as Record<string, Node>).podDisruptionBudget!;
    expect((pdb.properties as Record<string, Node>).maxUnavailable).toMatchObject({ 'x-kubernetes-int-or-string': true });
    const env = ((props.spec!.properties as Record<string, Node>).pod!.properties as Record<string, Node>).env!;
    expect(((env.items as Node).properties as Record<string, Node>).valueFrom).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: 'core/v1 EnvVarSource.' });
    // Quantities keep their pattern: the API server refuses `cpu: banana` at admission.
    const limits = ((props.spec!.properties as Record<string, Node>).resources!.properties as Record<string, Node>).limits!;
    expect(limits.additionalProperties).toMatchObject({ 'x-kubernetes-int-or-string': true, pattern: expect.stringContaining('[KMGTPE]i') });
  });
});

describe('toStructural', () => {
  it.each([
    ['$ref', { $ref: '#/x' }],
    ['anyOf without int-or-string', { anyOf: [{ type: 'string' }, { type: 'integer' }] }],
    ['default', { type: 'string', default: 'x' }],
    ['nested oneOf', { type: 'object', properties: { a: { oneOf: [] } } }],
  ])('rejects %s', (_name, input) => {
    expect(() => toStructural(input)).toThrow(/toStructural/);
  });
});
