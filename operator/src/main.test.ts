import { describe, expect, it } from 'vitest';
import { relayObject } from '../test/relays.js';
import { ManualClock } from './clock.js';
import type { OperatorConfig } from './config.js';
import { MemoryKube } from '../test/memory-kube.js';
import { silentLogger } from './log.js';
import { createOperator } from './main.js';

const config: OperatorConfig = {
  namespaces: [],
  leaderElect: false,
  leaseName: 'viewport-relay-operator',
  leaseNamespace: 'ops',
  identity: 'test',
  metricsPort: 0,
  healthPort: 0,
  relayImage: 'relay:test',
  kubeconfig: undefined,
  resyncMs: 60_000,
  concurrency: 2,
};
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('createOperator', () => {
  it('watches, reconciles every relay, reacts to child deletion, and counts passes', async () => {
    const kube = new MemoryKube();
    const clock = new ManualClock();
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'viewport-platform', namespace: 'viewport' }, data: { 'internal-key': 'eA==' } });
    kube.seed(relayObject({}));
    const op = createOperator({ kube, config, clock, log: silentLogger, random: () => 'r' });
    op.start();
    await flush();
    await op.queue.idle();
    expect(op.ready()).toBe(true);
    expect(kube.find('Deployment', 'viewport', 'relay')).toBeDefined();
    kube.remove({ apiVersion: 'v1', kind: 'Service', namespace: 'viewport', name: 'relay' });
    await flush();
    await op.queue.idle();
    expect(kube.find('Service', 'viewport', 'relay')).toBeDefined();
    const metrics = await op.metrics.registry.getMetricsAsJSON();
    const reconciles = metrics.find((m) => m.name === 'viewport_operator_reconciles_total')!;
    expect(reconciles.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(2);
    await op.stop();
  });

  it('with leader election, reconciles only after acquiring the Lease', async () => {
    const kube = new MemoryKube();
    const clock = new ManualClock();
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'viewport-platform', namespace: 'viewport' }, data: { 'internal-key': 'eA==' } });
    kube.seed(relayObject({}));
    kube.seed({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'viewport-relay-operator', namespace: 'ops' },
      spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.000000Z' },
    });
    const op = createOperator({ kube, config: { ...config, leaderElect: true }, clock, log: silentLogger, random: () => 'r' });
    op.start();
    await flush();
    expect(op.isLeader()).toBe(false);
    expect(op.ready()).toBe(true); // a standby is ready
    expect(kube.writes.filter((w) => w.ref.kind !== 'Lease')).toEqual([]);
    for (let i = 0; i < 8; i++) {
      clock.advance(2000);
      await flush();
    }
    expect(op.isLeader()).toBe(true);
    await flush();
    await op.queue.idle();
    expect(kube.writes.some((w) => w.ref.kind === 'Deployment')).toBe(true);
    await op.stop();
  });

  it('exports 1 for a Stalled relay, 0 once it recovers, and nothing after it is deleted', async () => {
    const kube = new MemoryKube();
    kube.seed(relayObject({}));
    const op = createOperator({ kube, config, clock: new ManualClock(), log: silentLogger, random: () => 'r' });
    const stalled = async () => (await op.metrics.registry.getSingleMetricAsString('viewport_operator_relay_stalled')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    // The referenced platform Secret is missing: SecretNotFound, Stalled.
    await op.reconcile('viewport/relay');
    expect(await stalled()).toEqual(['viewport_operator_relay_stalled{relay_namespace="viewport",relay="relay"} 1']);
    kube.seed({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'viewport-platform', namespace: 'viewport' }, data: { 'internal-key': 'eA==' } });
    await op.reconcile('viewport/relay');
    expect(await stalled()).toEqual(['viewport_operator_relay_stalled{relay_namespace="viewport",relay="relay"} 0']);
    kube.remove({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', namespace: 'viewport', name: 'relay' });
    await op.reconcile('viewport/relay');
    expect(await stalled()).toEqual([]);
  });
});
