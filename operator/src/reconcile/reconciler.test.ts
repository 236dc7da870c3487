import { beforeEach, describe, expect, it } from 'vitest';
import { relayObject, REDIS_MANAGED } from '../../test/relays.js';
import { ManualClock } from '../clock.js';
import { MemoryKube } from '../../test/memory-kube.js';
import { silentLogger } from '../log.js';
import type { KubeObject } from '../object.js';
import type { EventRecorder } from './events.js';
import { RECHECK_MS, Reconciler } from './reconciler.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const KEY = 'viewport/relay';
const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'viewport' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

let kube: MemoryKube;
let clock: ManualClock;
let events: { type: string; reason: string; note: string }[];
let reconciler: Reconciler;

function setup(): void {
  kube = new MemoryKube();
  clock = new ManualClock();
  events = [];
  let n = 0;
  const recorder: EventRecorder = {
    record: async (_relay, type, reason, note) => {
      events.push({ type, reason, note });
    },
  };
  reconciler = new Reconciler({ kube, clock, log: silentLogger, events: recorder, random: () => `rnd-${++n}`, builder: { relayImage: 'relay:test' } });
  kube.seed(secret('viewport-platform', { 'internal-key': 'a-strong-internal-key-of-32-chars!' }));
}

const relay = () => kube.find('ViewportRelay', 'viewport', 'relay')!;
const status = () => relay().status as Obj;
const cond = (type: string) => (status().conditions as Obj[]).find((c) => c.type === type);
const kinds = () =>
  [...kube.objects.values()]
    .filter((o) => o.metadata.ownerReferences?.length)
    .map((o) => `${o.kind}/${o.metadata.name}`)
    .sort();
const workload = () => kube.find('Deployment', 'viewport', 'relay')!;
const dref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'viewport', name: 'relay' };

/** markRolledOut plays the Deployment controller: the workload reports all replicas ready. */
function markRolledOut(name = 'relay'): void {
  kube.mutate({ ...dref, name }, (d) => {
    const replicas = (d.spec as Obj).replicas ?? 1;
    d.status = { observedGeneration: d.metadata.generation, replicas, readyReplicas: replicas, updatedReplicas: replicas };
  });
}

beforeEach(setup);

describe('Reconciler', () => {
  it('creates every child with a controller owner reference and reports progress', async () => {
    kube.seed(relayObject({ backplane: REDIS_MANAGED, replicas: 2, exposure: { host: 'relay.example.com', ingress: {} } }));
    // Not ready yet: look again soon (pod failures and exposure are in objects no informer watches).
    expect(await reconciler.reconcile(KEY)).toEqual({ result: 'done', reason: 'BackplaneNotReady', stalled: false, recheckAfterMs: RECHECK_MS });
    expect(kinds()).toEqual([
      'Deployment/relay',
      'Deployment/relay-redis',
      'Ingress/relay',
      'NetworkPolicy/relay',
      'NetworkPolicy/relay-redis',
      'PodDisruptionBudget/relay',
      'Secret/relay-generated',
      'Service/relay',
      'Service/relay-redis',
      'ServiceAccount/relay',
    ]);
    const owner = workload().metadata.ownerReferences![0]!;
    expect(owner).toEqual({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', name: 'relay', uid: relay().metadata.uid, controller: true, blockOwnerDeletion: true });
    expect(cond('Reconciling')).toMatchObject({ status: 'True', reason: 'BackplaneNotReady' });
    expect(status()).toMatchObject({ observedGeneration: 1, endpoint: 'ws://relay.example.com/ws', backplane: { mode: 'redis', ready: false } });
    expect(events.map((e) => e.reason)).toEqual(['Created']);
  });

  it('a second pass of an unchanged relay writes nothing', async () => {
    kube.seed(relayObject({ backplane: REDIS_MANAGED, replicas: 2 }));
    await reconciler.reconcile(KEY);
    const mark = kube.writes.length;
    await reconciler.reconcile(KEY);
    expect(kube.writesSince(mark)).toEqual([]);
  });

  it('becomes Ready once the workloads are, writing status once', async () => {
    kube.seed(relayObject({ backplane: REDIS_MANAGED, replicas: 2 }));
    await reconciler.reconcile(KEY);
    markRolledOut();
    markRolledOut('relay-redis');
    const mark = kube.writes.length;
    await reconciler.reconcile(KEY);
    expect(kube.writesSince(mark).map((w) => w.verb)).toEqual(['applyStatus']);
    expect(cond('Ready')).toMatchObject({ status: 'True', reason: 'Ready', message: '2/2 replicas ready' });
    expect(cond('Stalled')).toMatchObject({ status: 'False' });
    expect(status()).toMatchObject({ replicas: 2, readyReplicas: 2, backplane: { ready: true } });
    expect(events.map((e) => e.reason)).toContain('Ready');
  });

  it('never writes the relay’s spec or metadata', async () => {
    kube.seed(relayObject({}, { labels: { 'argocd.argoproj.io/instance': 'app' } }));
    await reconciler.reconcile(KEY);
    const relayWrites = kube.writes.filter((w) => w.ref.kind === 'ViewportRelay');
    expect(relayWrites.map((w) => w.verb)).toEqual(['applyStatus']);
    for (const o of kube.objects.values()) {
      if (o.kind !== 'ViewportRelay') expect(o.metadata.labels?.['argocd.argoproj.io/instance']).toBeUndefined();
    }
  });

  it('corrects drift: a deleted Service and an edited image', async () => {
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    kube.remove({ apiVersion: 'v1', kind: 'Service', namespace: 'viewport', name: 'relay' });
    kube.mutate(dref, (d) => {
      (d.spec as Obj).template.spec.containers[0].image = 'evil:latest';
    });
    const mark = kube.writes.length;
    await reconciler.reconcile(KEY);
    expect(kube.writesSince(mark).map((w) => `${w.verb} ${w.ref.kind}`)).toEqual(['apply Service', 'apply Deployment']);
    expect((workload().spec as Obj).template.spec.containers[0].image).toBe('relay:test');
  });

  it('leaves replicas to the HPA: no replicas applied, a scaled Deployment is not fought', async () => {
    kube.seed(relayObject({ backplane: REDIS_MANAGED, autoscaling: { minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 60 } }));
    await reconciler.reconcile(KEY);
    expect((workload().spec as Obj).replicas).toBeUndefined();
    kube.mutate(dref, (d) => {
      (d.spec as Obj).replicas = 4; // the HPA scaled up
    });
    await reconciler.reconcile(KEY);
    expect((workload().spec as Obj).replicas).toBe(4);
  });

  it('keeps generated Secret values across passes and rolls pods when a referenced Secret changes', async () => {
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    const token = kube.find('Secret', 'viewport', 'relay-generated')!.data as Obj;
    expect(Buffer.from(token['admin-token'], 'base64').toString()).toBe('rnd-1');
    const sum = () => (workload().spec as Obj).template.metadata.annotations['relay.getviewport.com/secrets-checksum'];
    const before = sum();
    await reconciler.reconcile(KEY);
    expect(sum()).toBe(before);
    kube.mutate({ apiVersion: 'v1', kind: 'Secret', namespace: 'viewport', name: 'viewport-platform' }, (s) => {
      s.data = { 'internal-key': Buffer.from('rotated-internal-key-of-32-chars!!').toString('base64') };
    });
    await reconciler.reconcile(KEY);
    expect(sum()).not.toBe(before);
    expect((kube.find('Secret', 'viewport', 'relay-generated')!.data as Obj)['admin-token']).toBe(token['admin-token']);
  });

  it('prunes children the spec no longer wants', async () => {
    kube.seed(relayObject({ backplane: REDIS_MANAGED, autoscaling: { minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 60 } }));
    await reconciler.reconcile(KEY);
    expect(kinds()).toContain('HorizontalPodAutoscaler/relay');
    kube.mutate({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', namespace: 'viewport', name: 'relay' }, (r) => {
      const { autoscaling: _a, ...spec } = r.spec as Obj;
      r.spec = { ...spec, replicas: 1, backplane: { mode: 'single' } };
    });
    await reconciler.reconcile(KEY);
    expect(kinds()).not.toContain('HorizontalPodAutoscaler/relay');
    expect(kinds()).not.toContain('Deployment/relay-redis');
    expect(events.map((e) => e.reason)).toContain('Pruned');
  });

  it('does not touch same-named objects it does not own', async () => {
    kube.seed({ ...secret('other', {}), metadata: { name: 'other', namespace: 'viewport', labels: { 'relay.getviewport.com/relay': 'relay' } } });
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    expect(kube.find('Secret', 'viewport', 'other')).toBeDefined();
  });

  it('stalls with a clear reason on an invalid spec, without creating children', async () => {
    kube.seed(relayObject({ replicas: 3 }));
    expect(await reconciler.reconcile(KEY)).toEqual({ result: 'done', reason: 'InvalidSpec', stalled: true });
    expect(kinds()).toEqual([]);
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(cond('Stalled')!.message).toContain('spec.backplane: more than one replica');
    expect(events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' }));
  });

  it('stalls on a missing Secret key, names it, and retries', async () => {
    kube.seed(relayObject({ platform: { validateUrl: 'https://api.example.com/v', internalKeySecretRef: { name: 'absent', key: 'k' } } }));
    const res = await reconciler.reconcile(KEY);
    expect(res).toMatchObject({ result: 'retry', reason: 'SecretNotFound' });
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'SecretNotFound', message: 'missing Secret keys: absent/k' });
    expect(kinds()).toEqual([]);
  });

  it('pause stops reconciliation and is reported; resume catches up', async () => {
    kube.seed(relayObject({}, { annotations: { 'relay.getviewport.com/paused': 'true' } }));
    expect(await reconciler.reconcile(KEY)).toEqual({ result: 'done', reason: 'Paused', stalled: false });
    expect(kinds()).toEqual([]);
    expect(status()).toMatchObject({ paused: true });
    expect(cond('Reconciling')).toMatchObject({ status: 'False', reason: 'Paused' });
    kube.mutate({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', namespace: 'viewport', name: 'relay' }, (r) => {
      r.metadata.annotations = {};
    });
    await reconciler.reconcile(KEY);
    expect(status()).toMatchObject({ paused: false, observedGeneration: 1 });
    expect(kinds()).toContain('Deployment/relay');
    expect(events.map((e) => e.reason)).toEqual(['Paused', 'Resumed', 'Created']);
  });

  it('retries transient apply errors and reports them without stalling', async () => {
    kube.seed(relayObject({}));
    kube.failNext('apply', (r) => r.kind === 'Deployment', { status: 503, reason: 'ServiceUnavailable', message: 'etcd is busy' });
    const res = await reconciler.reconcile(KEY);
    expect(res).toMatchObject({ result: 'retry', reason: 'ApplyFailed' });
    expect(cond('Reconciling')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
    expect(cond('Stalled')).toMatchObject({ status: 'False' });
    await reconciler.reconcile(KEY);
    expect(kinds()).toContain('Deployment/relay');
  });

  it('stalls when an add-on API is missing (Gateway API not installed)', async () => {
    kube.unserved.add('gateway.networking.k8s.io/v1/HTTPRoute');
    kube.seed(relayObject({ exposure: { host: 'r.example.com', httpRoute: { parentRefs: [{ name: 'gw' }] } } }));
    const res = await reconciler.reconcile(KEY);
    expect(res).toMatchObject({ result: 'retry', reason: 'ApplyRejected' });
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'ApplyRejected' });
    expect(cond('Stalled')!.message).toContain('HTTPRoute relay: gateway.networking.k8s.io/v1 HTTPRoute is not served by this cluster');
  });

  it('keeps Secret data out of status and events', async () => {
    kube.seed(relayObject({}));
    kube.failNext('apply', (r) => r.kind === 'Secret', { status: 422, reason: 'Invalid', message: 'data[admin-token]: rnd-1 is bad' });
    await reconciler.reconcile(KEY);
    expect(JSON.stringify(status())).not.toContain('rnd-1');
    expect(JSON.stringify(events)).not.toContain('rnd-1');
    expect(JSON.stringify(status())).not.toContain('a-strong-internal-key');
  });

  it('does nothing for a relay that is gone', async () => {
    expect(await reconciler.reconcile(KEY)).toEqual({ result: 'done', reason: 'Gone' });
    expect(kube.writes).toEqual([]);
  });

  it('after a restart re-applies nothing: live children are compared with the desired ones, no memory needed', async () => {
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    setupReconcilerOnly();
    const mark = kube.writes.length;
    const rvBefore = workload().metadata.resourceVersion;
    await reconciler.reconcile(KEY);
    expect(kube.writesSince(mark).filter((w) => w.verb !== 'applyStatus')).toEqual([]);
    expect(workload().metadata.resourceVersion).toBe(rvBefore);
  });

  it('puts back an edited Ingress annotation on the next pass (no generation change needed)', async () => {
    kube.seed(relayObject({ exposure: { host: 'r.example.com', ingress: { annotations: { 'nginx.org/websocket-services': 'relay' } } } }));
    await reconciler.reconcile(KEY);
    const iref = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'viewport', name: 'relay' };
    kube.mutate(iref, (i) => {
      i.metadata.annotations = { ...i.metadata.annotations, 'nginx.org/websocket-services': 'evil' };
    });
    await reconciler.reconcile(KEY);
    expect(kube.find('Ingress', 'viewport', 'relay')!.metadata.annotations?.['nginx.org/websocket-services']).toBe('relay');
  });

  it('a merge the API server refuses (422) is repaired with a guarded JSON patch, then applied again', async () => {
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    const sref = { apiVersion: 'v1', kind: 'Service', namespace: 'viewport', name: 'relay' };
    kube.mutate(sref, (svc) => {
      (svc.spec as Obj).ports = [{ name: 'ws', port: 7782, targetPort: 'ws', protocol: 'TCP' }];
    });
    kube.failNext('apply', (r) => r.kind === 'Service', { status: 422, reason: 'Invalid', message: 'spec.ports[1].name: Duplicate value: "ws"' });
    const mark = kube.writes.length;
    await reconciler.reconcile(KEY);
    expect(kube.writesSince(mark).map((w) => `${w.verb} ${w.ref.kind}`)).toEqual(['jsonPatch Service', 'apply Service']);
    expect((kube.find('Service', 'viewport', 'relay')!.spec as Obj).ports).toEqual([{ name: 'ws', port: 7781, targetPort: 'ws', protocol: 'TCP' }]);
    expect(cond('Stalled')).toMatchObject({ status: 'False' });
  });

  it('an immutable field is fixed by deleting and creating the child again (never a workload)', async () => {
    kube.seed(relayObject({}));
    await reconciler.reconcile(KEY);
    const sref = { apiVersion: 'v1', kind: 'Service', namespace: 'viewport', name: 'relay' };
    kube.mutate(sref, (svc) => {
      (svc.spec as Obj).type = 'NodePort';
    });
    const uid = kube.find('Service', 'viewport', 'relay')!.metadata.uid;
    kube.failNext('apply', (r) => r.kind === 'Service', { status: 422, reason: 'Invalid', message: 'spec.clusterIPs[0]: Invalid value: field is immutable' });
    await reconciler.reconcile(KEY);
    const svc = kube.find('Service', 'viewport', 'relay')!;
    expect(svc.metadata.uid).not.toBe(uid);
    expect((svc.spec as Obj).type).toBe('ClusterIP');
  });

  it('an mTLS Secret that is missing stalls the relay, naming it', async () => {
    kube.seed(relayObject({ backplane: { mode: 'server' }, platform: { validateUrl: 'https://api.example.com/v', internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' }, authMode: 'mtls', mtlsSecretName: 'client-cert' } }));
    expect(await reconciler.reconcile(KEY)).toMatchObject({ result: 'retry', reason: 'SecretNotFound' });
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'SecretNotFound', message: 'missing Secret keys: client-cert/tls.crt, client-cert/tls.key' });
  });

  it('the same server error pass after pass is bad input: Stalled with the API message', async () => {
    kube.seed(relayObject({}));
    const error = { status: 500, reason: 'InternalError', message: 'Internal error occurred: something about the object' };
    kube.failNext('apply', (r) => r.kind === 'Deployment', error, 3);
    expect(await reconciler.reconcile(KEY)).toMatchObject({ reason: 'ApplyFailed' });
    expect(await reconciler.reconcile(KEY)).toMatchObject({ reason: 'ApplyFailed' });
    expect(await reconciler.reconcile(KEY)).toMatchObject({ reason: 'ApplyRejected' });
    expect(cond('Stalled')).toMatchObject({ status: 'True', reason: 'ApplyRejected' });
    expect(cond('Stalled')!.message).toContain('something about the object');
  });
});

function setupReconcilerOnly(): void {
  reconciler = new Reconciler({
    kube,
    clock,
    log: silentLogger,
    events: { record: async () => undefined },
    random: () => 'unused',
    builder: { relayImage: 'relay:test' },
  });
}
