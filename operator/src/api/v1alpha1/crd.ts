// CRD generation: zod → JSON Schema → Kubernetes structural schema. Pure; the
// gen script writes the result to crds/ and the chart, and `crds` prints it.
import { z } from 'zod';
import {
  API_GROUP,
  API_VERSION,
  RELAY_CATEGORIES,
  RELAY_KIND,
  RELAY_PLURAL,
  RELAY_SHORT_NAMES,
  RELAY_SINGULAR,
} from './group.js';
import { MAX_RELAY_NAME_LENGTH } from './relay.js';
import { SPEC_RULES } from './rules.js';
import { ViewportRelaySpec } from './spec.js';
import { ViewportRelayStatus } from './status.js';

type JsonSchema = { [key: string]: unknown };

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

// Keys the API server rejects or that would make the schema non-structural.
const DROP_KEYS = new Set(['$schema', 'propertyNames', '$id', 'id']);

/** toStructural rewrites zod's JSON Schema into a Kubernetes structural schema; throws on constructs it cannot express. */
export function toStructural(node: JsonSchema, path = ''): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROP_KEYS.has(key)) continue;
    if (key === '$ref' || key === '$defs' || key === 'oneOf' || key === 'allOf' || key === 'not') {
      throw new Error(`toStructural: ${key} at ${path || '/'} is not structural`);
    }
    if (key === 'anyOf') {
      // The only union we allow is int-or-string, which has its own marker; the
      // string branch's pattern (a quantity, a percentage) applies to strings only.
      if (node['x-kubernetes-int-or-string'] === true) {
        const pattern = (value as JsonSchema[]).find((b) => b.type === 'string')?.pattern;
        if (typeof pattern === 'string') out.pattern = pattern;
        continue;
      }
      throw new Error(`toStructural: anyOf at ${path || '/'} is not structural`);
    }
    if (key === 'additionalProperties') {
      // false is the default after pruning; {} means "anything", which needs preserve-unknown instead.
      if (value === false) continue;
      if (isObject(value) && Object.keys(value).length === 0) continue;
      out[key] = toStructural(value as JsonSchema, `${path}/*`);
      continue;
    }
    if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue;
    if (key === 'properties' && isObject(value)) {
      const props: JsonSchema = {};
      for (const [name, sub] of Object.entries(value)) props[name] = toStructural(sub as JsonSchema, `${path}/${name}`);
      out[key] = props;
      continue;
    }
    if (key === 'items' && isObject(value)) {
      out[key] = toStructural(value, `${path}[]`);
      continue;
    }
    if (key === 'default') throw new Error(`toStructural: default at ${path || '/'}: keep defaults in the operator`);
    out[key] = value;
  }
  // A preserve-unknown object with no declared fields still needs type: object.
  if (out['x-kubernetes-preserve-unknown-fields'] === true && isObject(out.properties) && Object.keys(out.properties).length === 0) {
    delete out.properties;
  }
  return out;
}

/** specSchema is the structural schema of .spec, CEL rules attached. */
export function specSchema(): JsonSchema {
  const schema = toStructural(z.toJSONSchema(ViewportRelaySpec, { io: 'input' }) as JsonSchema);
  schema['x-kubernetes-validations'] = SPEC_RULES.map((r) => ({ rule: r.cel, message: r.message, fieldPath: r.fieldPath }));
  return schema;
}

/** statusSchema is the structural schema of .status. */
export function statusSchema(): JsonSchema {
  return toStructural(z.toJSONSchema(ViewportRelayStatus, { io: 'input' }) as JsonSchema);
}

/** CRD_NAME is metadata.name of the generated CustomResourceDefinition. */
export const CRD_NAME = `${RELAY_PLURAL}.${API_GROUP}`;

/** buildCrd returns the ViewportRelay CustomResourceDefinition as a plain object. */
export function buildCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'viewport-relay-operator', 'app.kubernetes.io/part-of': 'viewport' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: RELAY_KIND,
        listKind: `${RELAY_KIND}List`,
        plural: RELAY_PLURAL,
        singular: RELAY_SINGULAR,
        shortNames: [...RELAY_SHORT_NAMES],
        categories: [...RELAY_CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          // Ready and Reason first: a stalled or paused relay must not look like a healthy one.
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Ready condition' },
            { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why the relay is (not) ready' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas', description: 'Relay pods' },
            { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', description: 'Public WebSocket URL' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Mode', type: 'string', jsonPath: '.status.backplane.mode', description: 'Backplane mode', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'ViewportRelay runs a Viewport relay: workload, Services, exposure, backplane, autoscaling.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: statusSchema(),
              },
              'x-kubernetes-validations': [
                {
                  rule: `size(self.metadata.name) <= ${MAX_RELAY_NAME_LENGTH}`,
                  message: `metadata.name must be at most ${MAX_RELAY_NAME_LENGTH} characters: child names add suffixes`,
                },
              ],
            },
          },
        },
      ],
    },
  };
}
