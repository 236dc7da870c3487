// Condition vocabulary: fixed types, few reasons. Reasons double as metric
// labels and Event reasons, so they are string literals, never free text.
import { z } from 'zod';

/** CONDITION_TYPES: Ready (normal-true), Reconciling and Stalled (abnormal-true, kstatus), and
 * Exposed (normal-true, only when spec.exposure publishes the relay through an Ingress or HTTPRoute). */
export const CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled', 'Exposed'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** REASONS is every condition reason the operator writes. */
export const REASONS = [
  'Ready', // everything applied and all replicas ready
  'Reconciled', // Reconciling/Stalled false: nothing left to do
  'Progressing', // children applied, replicas rolling out or starting
  'BackplaneNotReady', // managed Redis not ready yet
  'Paused', // pause annotation set
  'InvalidSpec', // spec fails validation (CEL skipped, or an older CRD)
  'SecretNotFound', // a referenced Secret or key does not exist
  'ApplyRejected', // the API server refused a child (4xx): user must act
  'ApplyFailed', // transient apply error; retried with backoff
  'RolloutStalled', // workload exceeded its progress deadline, or pods kept failing past it
  'FailedCreate', // the workload controller cannot create pods (missing PriorityClass, quota, admission)
  'ImagePullFailed', // a pod cannot pull its image (ErrImagePull, ImagePullBackOff, InvalidImageName)
  'CrashLoopBackOff', // a container keeps exiting
  'ContainerConfigError', // a container cannot start as configured (CreateContainerConfigError)
  'Unschedulable', // the scheduler finds no node for a pod
  'Exposed', // Exposed true: the Ingress has an address, or every route and certificate is accepted and ready
  'ExposurePending', // waiting for an ingress address, a route's acceptance or a certificate
  'ExposureRejected', // a gateway refused a route (Accepted or ResolvedRefs false)
] as const;
export type Reason = (typeof REASONS)[number];

/** Condition is metav1.Condition, minus nothing. */
export const Condition = z
  .strictObject({
    type: z.enum(CONDITION_TYPES),
    status: z.enum(['True', 'False', 'Unknown']),
    observedGeneration: z.number().int().optional(),
    lastTransitionTime: z.string().describe('RFC 3339 time the status last changed.'),
    reason: z.string().min(1).max(1024),
    message: z.string().max(32768),
  })
  .describe('metav1.Condition.');
export type Condition = z.infer<typeof Condition>;
