// Kubernetes Events (events.k8s.io/v1) for notable transitions. Notes are
// built from reasons and object names only, never from Secret values.
import { FIELD_MANAGER, RELAY_API_VERSION, RELAY_KIND } from '../api/v1alpha1/group.js';
import type { Clock } from '../clock.js';
import type { KubeAdapter } from '../kube/adapter.js';

/** EventType is Normal or Warning. */
export type EventType = 'Normal' | 'Warning';

/** RelayRef identifies the relay an event is about. */
export interface RelayRef {
  name: string;
  namespace: string;
  uid: string;
}

/** EventRecorder emits one Event about a relay; failures are reported, never thrown. */
export interface EventRecorder {
  record(relay: RelayRef, type: EventType, reason: string, note: string): Promise<void>;
}

/** microTime formats a MicroTime: RFC 3339 with exactly six fractional digits (the API rejects three). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** kubeEventRecorder writes events.k8s.io/v1 Events through the adapter. */
export function kubeEventRecorder(
  kube: KubeAdapter,
  clock: Clock,
  instance: string,
  onError: (message: string) => void,
): EventRecorder {
  let seq = 0;
  return {
    async record(relay, type, reason, note) {
      const now = clock.now();
      seq += 1;
      const res = await kube.create({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${relay.name}.${now.toString(16)}${seq.toString(16)}`, namespace: relay.namespace },
        eventTime: microTime(now),
        reportingController: `relay.getviewport.com/${FIELD_MANAGER}`,
        reportingInstance: instance,
        action: 'Reconcile',
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: { apiVersion: RELAY_API_VERSION, kind: RELAY_KIND, name: relay.name, namespace: relay.namespace, uid: relay.uid },
      });
      if (!res.ok) onError(`event ${reason} for ${relay.namespace}/${relay.name}: ${res.error.reason}`);
    },
  };
}
