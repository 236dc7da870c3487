import { describe, expect, it } from 'vitest';
import { relayObject } from '../../test/relays.js';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../log.js';
import { MemoryKube } from '../../test/memory-kube.js';
import { startWatches } from './watch.js';

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('startWatches', () => {
  it('maps relay and child events to relay keys and reports sync', async () => {
    const kube = new MemoryKube();
    const keys: string[] = [];
    kube.seed(relayObject({}));
    const w = startWatches({ kube, clock: new ManualClock(), log: silentLogger, namespaces: [], onKey: (k) => keys.push(k) });
    await flush();
    expect(w.synced()).toBe(true);
    expect(keys).toEqual(['viewport/relay']);
    expect(w.relayKeys()).toEqual(['viewport/relay']);
    kube.seed({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'relay', namespace: 'viewport', labels: { 'app.kubernetes.io/managed-by': 'viewport-relay-operator', 'relay.getviewport.com/relay': 'relay' } },
    });
    // Unlabelled objects are not the operator's and trigger nothing.
    kube.seed({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'other', namespace: 'viewport' } });
    expect(keys).toEqual(['viewport/relay', 'viewport/relay']);
    w.stop();
  });

  it('re-queues the relays whose spec names a Secret when it changes, and only those', async () => {
    const kube = new MemoryKube();
    const keys: string[] = [];
    kube.seed(relayObject({}, { name: 'a' }));
    kube.seed(relayObject({}, { name: 'b' }));
    const secretsOf = (r: { metadata: { name: string } }) => (r.metadata.name === 'a' ? ['platform', 'tls'] : ['other']);
    const w = startWatches({ kube, clock: new ManualClock(), log: silentLogger, namespaces: [], onKey: (k) => keys.push(k), secretsOf });
    await flush();
    expect(keys.sort()).toEqual(['viewport/a', 'viewport/b']);
    keys.length = 0;
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'platform', namespace: 'viewport' } };
    kube.seed(secret);
    expect(keys).toEqual(['viewport/a']);
    kube.remove({ apiVersion: 'v1', kind: 'Secret', namespace: 'viewport', name: 'platform' });
    expect(keys).toEqual(['viewport/a', 'viewport/a']);
    // Same name in another namespace, and an unreferenced Secret: nothing.
    kube.seed({ ...secret, metadata: { name: 'platform', namespace: 'elsewhere' } });
    kube.seed({ ...secret, metadata: { name: 'unrelated', namespace: 'viewport' } });
    expect(keys).toEqual(['viewport/a', 'viewport/a']);
    // A relay deleted from the index no longer maps its Secrets.
    kube.remove({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', namespace: 'viewport', name: 'a' });
    keys.length = 0;
    kube.seed(secret);
    expect(keys).toEqual([]);
    w.stop();
  });

  it('never watches unrelated Secrets: owned ones by label, referenced ones one name at a time', async () => {
    const kube = new MemoryKube();
    const delivered: string[] = [];
    const watch = kube.watch.bind(kube);
    kube.watch = (apiVersion, kind, opts, cb) =>
      watch(apiVersion, kind, opts, { ...cb, onEvent: (e) => (kind === 'Secret' && delivered.push(e.object.metadata.name), cb.onEvent(e)) });
    for (let i = 0; i < 50; i++) kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `unrelated-${i}`, namespace: 'viewport' } });
    kube.seed(relayObject({}, { name: 'a' }));
    const w = startWatches({ kube, clock: new ManualClock(), log: silentLogger, namespaces: [], onKey: () => undefined, secretsOf: () => ['platform'] });
    await flush();
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'platform', namespace: 'viewport' } });
    kube.seed({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'a-generated', namespace: 'viewport', labels: { 'app.kubernetes.io/managed-by': 'viewport-relay-operator', 'relay.getviewport.com/relay': 'a' } },
    });
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated-late', namespace: 'viewport' } });
    expect(delivered.sort()).toEqual(['a-generated', 'platform']);
    expect(kube.watching('Secret')).toEqual([
      { namespace: undefined, labelSelector: 'app.kubernetes.io/managed-by=viewport-relay-operator', fieldSelector: undefined },
      { namespace: 'viewport', labelSelector: undefined, fieldSelector: 'metadata.name=platform' },
    ]);
    expect(w.referencedSecrets()).toEqual(['viewport/platform']);
    // The last relay naming a Secret is gone: its watch stops.
    kube.remove({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', namespace: 'viewport', name: 'a' });
    expect(w.referencedSecrets()).toEqual([]);
    expect(kube.watching('Secret')).toHaveLength(1);
    w.stop();
  });

  it('watches only the configured namespaces', async () => {
    const kube = new MemoryKube();
    const keys: string[] = [];
    kube.seed(relayObject({}, { namespace: 'a' }));
    kube.seed(relayObject({}, { namespace: 'b' }));
    const w = startWatches({ kube, clock: new ManualClock(), log: silentLogger, namespaces: ['b'], onKey: (k) => keys.push(k) });
    await flush();
    expect(keys).toEqual(['b/relay']);
    w.stop();
  });

  it('restarts a failed watch with exponential backoff; add-on APIs do not block sync', async () => {
    const kube = new MemoryKube();
    kube.unserved.add('gateway.networking.k8s.io/v1/HTTPRoute');
    kube.unserved.add('apps/v1/Deployment');
    const clock = new ManualClock();
    const restarts: string[] = [];
    const w = startWatches({ kube, clock, log: silentLogger, namespaces: [], onKey: () => undefined, onRestart: (k) => restarts.push(k), minRestartMs: 1000 });
    await flush();
    expect(w.synced()).toBe(false);
    expect(restarts.filter((k) => k === 'Deployment')).toHaveLength(1);
    clock.advance(1000);
    await flush();
    expect(restarts.filter((k) => k === 'Deployment')).toHaveLength(2);
    clock.advance(1000); // next restart is 2 s after the second failure
    await flush();
    expect(restarts.filter((k) => k === 'Deployment')).toHaveLength(2);
    kube.unserved.delete('apps/v1/Deployment');
    clock.advance(1000);
    await flush();
    expect(w.synced()).toBe(true);
    w.stop();
  });
});
