// The operator when things go wrong: two instances elect one leader and hand
// over when the leader dies, and an API server restart in the middle of a
// reconcile is survived without restarting the operator.
import { AppsV1Api, CoreV1Api, CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeAdapter, KubeResult } from '../../operator/src/kube/adapter.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import type { KubeObject } from '../../operator/src/object.js';
import { installCrds, startControlPlane, waitFor, type ControlPlane } from '../controlplane/index.js';
import { memoryLogger, readyRelay, testOperatorConfig } from './operator-harness.js';
import { recordingKube, type RecordingKube } from './recording-kube.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const repo = resolve(import.meta.dirname, '../..');
// client-go's defaults, which the operator's LeaderElector uses.
const leaseDurationMs = 15_000;
const retryPeriodMs = 2_000;

function minimalRelay(namespace: string): string {
  const doc = parse(readFileSync(join(repo, 'examples/minimal-single.yaml'), 'utf8')) as KubeObject;
  doc.metadata = { ...doc.metadata, name: 'relay', namespace };
  return stringify(doc);
}

async function prepareNamespace(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'relay-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });
}

/** severable wraps an adapter so a test can cut it off from the API server, as
 * if its process died: every later call fails and watches go quiet. */
function severable(inner: KubeAdapter): { kube: KubeAdapter; sever(): void } {
  let severed = false;
  const dead = <T>(): KubeResult<T> => ({ ok: false, error: { status: undefined, reason: 'NetworkError', message: 'severed by the test' } });
  const guard =
    <A extends unknown[], T>(call: (...args: A) => Promise<KubeResult<T>>) =>
    async (...args: A): Promise<KubeResult<T>> =>
      severed ? dead<T>() : call(...args);
  return {
    sever: () => {
      severed = true;
    },
    kube: {
      get: guard((ref) => inner.get(ref)),
      list: guard((a, k, o) => inner.list(a, k, o)),
      apply: guard((o) => inner.apply(o)),
      applyStatus: guard((o) => inner.applyStatus(o)),
      create: guard((o) => inner.create(o)),
      replace: guard((o) => inner.replace(o)),
      delete: guard((r, u) => inner.delete(r, u)),
      watch: (apiVersion, kind, opts, callbacks) =>
        inner.watch(apiVersion, kind, opts, {
          onEvent: (e) => {
            if (!severed) callbacks.onEvent(e);
          },
          onError: (e) => callbacks.onError(e),
          ...(callbacks.onSynced ? { onSynced: callbacks.onSynced } : {}),
        }),
    },
  };
}

const logLines: string[] = [];
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-80).join('\n')}\n`);
});

describe('leader election between two operator instances', () => {
  const shared = useSharedControlPlane();
  const namespace = 'leader-election';
  const admin = new ClientKube(shared.kc);
  const instances: { name: string; op: Operator; rec: RecordingKube; sever(): void }[] = [];

  beforeAll(async () => {
    await prepareNamespace(shared.kc, namespace);
    for (const name of ['operator-a', 'operator-b']) {
      const cut = severable(new ClientKube(shared.kc));
      const rec = recordingKube(cut.kube);
      const op = createOperator({ kube: rec.kube, config: testOperatorConfig({ namespaces: [namespace], identity: name, leaderElect: true, leaseNamespace: namespace }), log: memoryLogger(logLines, name) });
      instances.push({ name, op, rec, sever: cut.sever });
      op.start();
    }
  });
  afterAll(async () => {
    for (const i of instances) await i.op.stop();
  });

  it('lets only the leader reconcile, and hands over when the leader dies', async () => {
    const leader = await waitFor('one leader', () => {
      const leading = instances.filter((i) => i.op.isLeader());
      if (leading.length > 1) throw new Error('two leaders at once');
      return leading[0];
    });
    const standby = instances.find((i) => i !== leader);
    if (!standby) throw new Error('no standby');

    const applied = await shared.kubectl(['apply', '-f', '-'], minimalRelay(namespace));
    expect(applied.stderr).toBe('');
    await waitFor('the relay Ready', () => readyRelay(admin, namespace));
    const childWrites = (i: (typeof instances)[number]) => [...i.rec.used].filter((u) => u.endsWith(':patch') && !u.startsWith('coordination'));
    expect(childWrites(leader).length).toBeGreaterThan(0);
    expect(childWrites(standby)).toEqual([]);
    expect(standby.op.isLeader()).toBe(false);

    leader.sever();
    // The standby may take over once the lease has gone unrenewed for its duration.
    await waitFor('the standby to take over', () => (standby.op.isLeader() ? true : undefined), {
      timeoutMs: leaseDurationMs + 3 * retryPeriodMs + 5_000,
    });
    const lease = await shared.kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace, name: 'viewport-relay-operator' });
    expect(lease.spec?.holderIdentity).toBe(standby.name);

    // The new leader reconciles: a spec change converges.
    const patched = await shared.kubectl(['patch', '-n', namespace, 'vrelay/relay', '--type=merge', '-p', '{"spec":{"relayMode":"staging"}}']);
    expect(patched.stderr).toBe('');
    await waitFor('the relay Ready at generation 2 under the new leader', () => readyRelay(admin, namespace, 2));
    expect(childWrites(standby).length).toBeGreaterThan(0);
  });
});

describe('an API server restart in the middle of reconciling', () => {
  let cp: ControlPlane;
  let operator: Operator | undefined;
  const namespace = 'restart';

  beforeAll(async () => {
    cp = await startControlPlane({ toolchain: inject('toolchain'), controllerManager: true, scheduler: true, kwok: true });
    await installCrds(cp, join(repo, 'crds'));
    await prepareNamespace(cp.adminKubeConfig, namespace);
  });
  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`${cp.logs()}\n`);
  });

  it('recovers without restarting and converges', async () => {
    const kube = new ClientKube(cp.adminKubeConfig);
    operator = createOperator({ kube, config: testOperatorConfig({ namespaces: [namespace], identity: 'restart', leaderElect: false, leaseNamespace: namespace }), log: memoryLogger(logLines, 'restart') });
    operator.start();
    await waitFor('the operator synced', () => (operator?.ready() ? true : undefined));

    const applied = await cp.kubectl(['apply', '-f', '-'], { input: minimalRelay(namespace) });
    expect(applied.stderr).toBe('');
    // No wait: the restart races the first pass (its watch event or its applies).
    await cp.restartApiServer();
    await waitFor('the relay Ready after the restart', () => readyRelay(kube, namespace), { timeoutMs: 90_000 });

    // Watches must have come back: a later spec change is picked up by itself.
    const patched = await cp.kubectl(['patch', '-n', namespace, 'vrelay/relay', '--type=merge', '-p', '{"spec":{"relayMode":"staging"}}']);
    expect(patched.stderr).toBe('');
    const relay = await waitFor('Ready at generation 2', () => readyRelay(kube, namespace, 2), { timeoutMs: 90_000 });
    expect(relay.metadata.generation).toBe(2);
    const deployment = await cp.adminKubeConfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace, name: 'relay' });
    const env = deployment.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'RELAY_MODE')?.value).toBe('staging');
  });
});
