// Test fixtures: ViewportRelays and their models, built through parseRelay so
// fixtures are always valid CRs.
import { parseRelay, type ViewportRelay } from '../src/api/v1alpha1/relay.js';
import { relayModel, type RelayModel } from '../src/desired/model.js';
import type { KubeObject } from '../src/object.js';

export const PLATFORM = {
  validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
  internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
};
export const RELAY_IMAGE = 'ghcr.io/viewport/relay:test';
export const REDIS_MANAGED = { mode: 'redis', redis: { managed: {} } } as const;

/** relayObject is a raw ViewportRelay as a user would write it. */
export function relayObject(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay',
    metadata: { name: 'relay', namespace: 'viewport', ...meta },
    spec: { platform: PLATFORM, ...spec },
  };
}

/** parsedRelay parses relayObject, failing loudly on an invalid fixture. */
export function parsedRelay(spec: Record<string, unknown> = {}, uid = 'uid-relay'): ViewportRelay {
  const res = parseRelay(relayObject(spec, { uid, generation: 1 }));
  if (!res.ok) throw new Error(`invalid fixture: ${JSON.stringify(res.problems)}`);
  return res.relay;
}

/** modelOf builds a RelayModel for a spec. */
export function modelOf(spec: Record<string, unknown> = {}, uid = 'uid-relay'): RelayModel {
  return relayModel(parsedRelay(spec, uid), { relayImage: RELAY_IMAGE });
}

/** LABELS are the child labels of relay "relay". */
export const LABELS = {
  'app.kubernetes.io/name': 'viewport-relay',
  'app.kubernetes.io/instance': 'relay',
  'app.kubernetes.io/component': 'relay',
  'app.kubernetes.io/part-of': 'viewport',
  'app.kubernetes.io/managed-by': 'viewport-relay-operator',
  'relay.getviewport.com/relay': 'relay',
};
export const SELECTOR = {
  'app.kubernetes.io/name': 'viewport-relay',
  'app.kubernetes.io/instance': 'relay',
  'app.kubernetes.io/component': 'relay',
};
