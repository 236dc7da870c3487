// ViewportRelay status, read by kstatus (Helm --wait, Flux), Argo CD's health
// script and `kubectl get vrelay`. Only the operator writes it.
import { z } from 'zod';
import { Condition } from './conditions.js';

const BackplaneStatus = z
  .strictObject({
    mode: z.enum(['single', 'redis', 'server']).describe('Backplane mode in effect.'),
    ready: z.boolean().describe('True when the backplane the relays need is available (managed Redis ready, or nothing to wait for).'),
    message: z.string().optional().describe('Why the backplane is not ready.'),
  })
  .describe('Backplane state.');

/** ViewportRelayStatus is the observed state of one relay deployment. */
export const ViewportRelayStatus = z
  .strictObject({
    observedGeneration: z.number().int().optional().describe('metadata.generation the status describes.'),
    replicas: z.number().int().optional().describe('Relay pods that exist (scale subresource).'),
    readyReplicas: z.number().int().optional().describe('Relay pods that pass readiness.'),
    selector: z.string().optional().describe('Label selector of relay pods (scale subresource, used by an external HPA).'),
    endpoint: z.string().optional().describe('Public WebSocket URL, e.g. wss://relay.example.com/ws.'),
    backplane: BackplaneStatus.optional(),
    paused: z.boolean().optional().describe('True while the relay.getviewport.com/paused annotation is "true".'),
    conditions: z
      .array(Condition)
      .max(8)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
      .describe('Ready, Reconciling, Stalled, and Exposed when spec.exposure publishes the relay.'),
  })
  .describe('Observed state, written by the operator.');
/** ViewportRelayStatus (type) is the status as written by the operator. */
export type ViewportRelayStatus = z.infer<typeof ViewportRelayStatus>;
