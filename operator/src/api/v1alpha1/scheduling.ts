// Scheduling fields of the relay pod (tolerations, affinity) with the shape of
// core/v1, so a typo or a wrong operator is refused at admission instead of by
// the API server on the relay's workload (which left the relay Reconciling).
import { z } from 'zod';

const stringMap = z.record(z.string(), z.string());
const key = z.string().min(1).max(317);
const values = z.array(z.string()).max(256);

const LabelSelector = z
  .strictObject({
    matchLabels: stringMap.optional(),
    matchExpressions: z
      .array(z.strictObject({ key, operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: values.optional() }))
      .max(32)
      .optional(),
  })
  .describe('metav1.LabelSelector.');

const NodeSelectorRequirement = z.strictObject({
  key,
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
  values: values.optional(),
});

const NodeSelectorTerm = z
  .strictObject({
    matchExpressions: z.array(NodeSelectorRequirement).max(32).optional(),
    matchFields: z.array(NodeSelectorRequirement).max(32).optional(),
  })
  .describe('core/v1 NodeSelectorTerm.');

const weight = z.number().int().min(1).max(100);

const NodeAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(NodeSelectorTerm).min(1).max(32) }).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, preference: NodeSelectorTerm })).max(32).optional(),
});

const PodAffinityTerm = z
  .strictObject({
    labelSelector: LabelSelector.optional(),
    namespaceSelector: LabelSelector.optional(),
    namespaces: z.array(z.string().min(1)).max(64).optional(),
    topologyKey: key,
    matchLabelKeys: z.array(key).max(32).optional(),
    mismatchLabelKeys: z.array(key).max(32).optional(),
  })
  .describe('core/v1 PodAffinityTerm.');

const PodAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTerm).max(32).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight, podAffinityTerm: PodAffinityTerm })).max(32).optional(),
});

/** Affinity is core/v1 Affinity. */
export const Affinity = z
  .strictObject({
    nodeAffinity: NodeAffinity.optional(),
    podAffinity: PodAffinity.optional(),
    podAntiAffinity: PodAffinity.optional(),
  })
  .describe('core/v1 Affinity of the relay pods.');

/** Toleration is core/v1 Toleration. */
export const Toleration = z
  .strictObject({
    key: z.string().max(317).optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().max(63).optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .describe('core/v1 Toleration.');
