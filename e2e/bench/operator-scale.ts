// Operator benchmark (`npm run bench:operator -w e2e`): a control plane of its
// own (etcd, kube-apiserver, controller-manager, scheduler, kwok), the operator
// in-process as the chart's ServiceAccount with exactly the chart's RBAC and
// production queue settings, 100 ViewportRelays created at once. Prints the
// time until all are Ready, API requests per reconcile by verb, reconciles,
// and the writes of a resync over the unchanged relays; fails when a relay
// does not become Ready in time, a request is forbidden, or the resync writes.
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, RELAY_KIND } from '../../operator/src/api/v1alpha1/group.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import { ensureToolchain, installCrds, startControlPlane, waitFor, type ControlPlane } from '../controlplane/index.js';
import { chartIdentity, chartRbac, conditionOf, memoryLogger, testOperatorConfig, type Relay } from '../test/operator-harness.js';
import { countByVerb, recordingKube, WRITE_VERBS, type RecordedCall, type RecordingKube } from '../test/recording-kube.js';

/** RELAYS is how many ViewportRelays are created at once (the kwok node holds 110 pods). */
const RELAYS = 100;
const NAMESPACE = 'bench';
const OPERATOR_NAMESPACE = 'vr-system';
const READY_TIMEOUT_MS = 300_000;

let cp: ControlPlane;
let admin: ClientKube;
let operator: Operator | undefined;
let recorded: RecordingKube;
const logLines: string[] = [];

const relayName = (i: number): string => `relay-${String(i).padStart(3, '0')}`;

async function reconcileCount(op: Operator): Promise<number> {
  return (await op.metrics.reconciles.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function relays(): Promise<Relay[]> {
  const res = await admin.list(`${API_GROUP}/${API_VERSION}`, RELAY_KIND, { namespace: NAMESPACE });
  if (!res.ok) throw new Error(res.error.message);
  return res.value as Relay[];
}

const isReady = (r: Relay): boolean => {
  const ready = conditionOf(r, 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === r.metadata.generation && r.status?.observedGeneration === r.metadata.generation;
};

/** rolloutsComplete is true once every relay Deployment reports its rollout finished (the last status change the operator reflects). */
async function rolloutsComplete(): Promise<boolean> {
  const res = await admin.list('apps/v1', 'Deployment', { namespace: NAMESPACE });
  if (!res.ok) throw new Error(res.error.message);
  const complete = res.value.filter((d) => {
    const status = d.status as { observedGeneration?: number; conditions?: { type: string; reason?: string }[] } | undefined;
    const progressing = status?.conditions?.find((c) => c.type === 'Progressing');
    return status?.observedGeneration === d.metadata.generation && progressing?.reason === 'NewReplicaSetAvailable';
  });
  return complete.length === RELAYS;
}

/** settled waits until every rollout is complete, the queue is empty and idle, and no request was made for two seconds. */
async function settled(op: Operator): Promise<void> {
  let last = -1;
  let since = performance.now();
  await waitFor(
    'the operator to settle',
    async () => {
      if (!(await rolloutsComplete())) throw new Error('rollouts still in progress');
      await op.queue.idle();
      if (op.queue.depth > 0) throw new Error(`${op.queue.depth} keys queued`);
      const n = inBench(recorded.calls).length;
      if (n !== last) {
        last = n;
        since = performance.now();
        return undefined;
      }
      return performance.now() - since >= 2_000 ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
}

// Lease renewals (every 2 s, in the operator's namespace) are not reconcile work.
const inBench = (calls: readonly RecordedCall[]): RecordedCall[] => calls.filter((c) => c.namespace === NAMESPACE);

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

function perReconcile(calls: readonly RecordedCall[], reconciles: number): string {
  const byVerb = countByVerb(calls);
  return Object.keys(byVerb)
    .sort()
    .map((verb) => `${verb} ${((byVerb[verb] ?? 0) / Math.max(reconciles, 1)).toFixed(2)}`)
    .join(', ');
}

beforeAll(async () => {
  const toolchain = await ensureToolchain();
  cp = await startControlPlane({ toolchain, controllerManager: true, scheduler: true, kwok: true });
  await installCrds(cp, resolve(import.meta.dirname, '../../crds'));
  admin = new ClientKube(cp.adminKubeConfig);
  for (const ns of [OPERATOR_NAMESPACE, NAMESPACE]) {
    const res = await cp.kubectl(['create', 'namespace', ns]);
    if (res.code !== 0) throw new Error(res.stderr);
  }
  const rbac = chartRbac(toolchain.helm, 'op', OPERATOR_NAMESPACE);
  const applied = await cp.kubectl(['apply', '--server-side', '-f', '-'], { input: rbac.map((o) => stringify(o)).join('---\n') });
  if (applied.code !== 0) throw new Error(applied.stderr);
  const secret = await admin.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'viewport-platform', namespace: NAMESPACE },
    stringData: { 'internal-key': 'k'.repeat(32) },
  });
  if (!secret.ok) throw new Error(secret.error.message);

  const { serviceAccount, leaseName } = chartIdentity(rbac);
  recorded = recordingKube(new ClientKube(await cp.kubeConfigForServiceAccount(OPERATOR_NAMESPACE, serviceAccount)));
  // Production settings: 2 workers, 10 reconciles/s (burst 100), 10-minute resync.
  const config = {
    ...testOperatorConfig({ namespaces: [], identity: 'bench', leaderElect: true, leaseNamespace: OPERATOR_NAMESPACE }),
    leaseName,
  };
  const op = createOperator({ kube: recorded.kube, config, log: memoryLogger(logLines, 'bench') });
  operator = op;
  op.start();
  await waitFor('the operator to lead and sync', () => (op.isLeader() && op.ready() ? true : undefined), { timeoutMs: 60_000 });
}, 600_000);

afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  // Add-on APIs that are not installed restart their watches quietly forever: leave them out.
  const lines = logLines.filter((l) => !l.includes('"reason":"HTTP 404"'));
  const errors = countBy(recorded?.errors ?? [], (e) => `${e.verb} ${e.resource} ${e.error.status ?? ''} ${e.error.reason}`);
  process.stderr.write(`API errors: ${JSON.stringify(errors)}\noperator log:\n${lines.slice(-40).join('\n')}\n${cp?.logs(20) ?? ''}\n`);
});

afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});

/** resyncUnchanged re-queues every (unchanged) relay, as the 10-minute timer does, and sorts the writes it caused into due and needless. */
async function resyncUnchanged(op: Operator) {
  const statusBefore = new Map((await relays()).map((r) => [r.metadata.name, JSON.stringify(r.status)]));
  const resyncStart = recorded.calls.length;
  const resyncReconcilesBefore = await reconcileCount(op);
  const r0 = performance.now();
  for (let i = 0; i < RELAYS; i++) op.queue.add(`${NAMESPACE}/${relayName(i)}`);
  await waitFor('the resync to finish', async () => ((await reconcileCount(op)) - resyncReconcilesBefore >= RELAYS ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  const resyncMs = performance.now() - r0;
  await op.queue.idle();
  const resyncCalls = inBench(recorded.calls.slice(resyncStart));
  const resyncReconciles = (await reconcileCount(op)) - resyncReconcilesBefore;
  const resyncWrites = resyncCalls.filter((c) => WRITE_VERBS.has(c.verb));
  // A status write is due when the relay's status really changed meanwhile (on
  // a loaded machine kwok's node heartbeat can lapse and pods turn NotReady);
  // any other write during the resync of unchanged relays is waste.
  const statusAfter = new Map((await relays()).map((r) => [r.metadata.name, JSON.stringify(r.status)]));
  const changed = [...statusAfter.keys()].filter((name) => statusAfter.get(name) !== statusBefore.get(name));
  const isStatus = (c: RecordedCall): boolean => c.resource === `${API_GROUP}/viewportrelays/status`;
  const needless = resyncWrites.filter((c) => !(isStatus(c) && c.name !== undefined && changed.includes(c.name)));
  // An Event records such a change (Ready lost or regained): also due.
  const needlessWrites = needless.filter((c) => !(c.verb === 'create' && c.resource === 'events.k8s.io/events' && changed.length > 0));
  return { resyncMs, resyncCalls, resyncReconciles, resyncWrites, needlessWrites, changed, statusBefore, statusAfter };
}

it(`${RELAYS} ViewportRelays created at once all become Ready`, async () => {
  const op = operator as Operator;
  const startCalls = recorded.calls.length;
  const startReconciles = await reconcileCount(op);
  const t0 = performance.now();
  const created = await Promise.all(
    Array.from({ length: RELAYS }, (_, i) =>
      admin.create({
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: RELAY_KIND,
        metadata: { name: relayName(i), namespace: NAMESPACE },
        spec: {
          platform: {
            validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
            internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
          },
        },
      }),
    ),
  );
  expect(created.filter((r) => !r.ok)).toEqual([]);
  await waitFor(
    `all ${RELAYS} relays Ready`,
    async () => {
      const all = await relays();
      const ready = all.filter(isReady).length;
      if (ready === RELAYS) return true;
      const waiting = all.find((r) => !isReady(r));
      const why = conditionOf(waiting, 'Ready') as { reason?: string; message?: string } | undefined;
      throw new Error(`${ready}/${RELAYS} Ready; ${waiting?.metadata.name ?? 'none'}: ${why?.reason ?? 'no status'} ${why?.message ?? ''}`);
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 },
  );
  const readyMs = performance.now() - t0;
  const readyCalls = inBench(recorded.calls.slice(startCalls));
  const readyReconciles = (await reconcileCount(op)) - startReconciles;

  await settled(op);
  const settledCalls = inBench(recorded.calls.slice(startCalls));
  const settledReconciles = (await reconcileCount(op)) - startReconciles;

  const { resyncMs, resyncCalls, resyncReconciles, resyncWrites, needlessWrites, changed, statusBefore, statusAfter } =
    await resyncUnchanged(op);

  const lines = [
    `operator benchmark: ${RELAYS} ViewportRelays created at once (kwok pods, chart RBAC, 2 workers, 10 reconciles/s burst 100)`,
    `  time to all Ready            ${(readyMs / 1000).toFixed(1)} s`,
    `  reconciles until all Ready   ${readyReconciles} (${(readyReconciles / RELAYS).toFixed(2)} per relay)`,
    `  requests until all Ready     ${readyCalls.length} (${JSON.stringify(countByVerb(readyCalls))})`,
    `  requests per reconcile       ${perReconcile(readyCalls, readyReconciles)}`,
    `  settled: reconciles          ${settledReconciles}, requests ${settledCalls.length} (${JSON.stringify(countByVerb(settledCalls))})`,
    `  unchanged resync             ${resyncReconciles} reconciles in ${(resyncMs / 1000).toFixed(1)} s, requests per reconcile: ${perReconcile(resyncCalls, resyncReconciles)}`,
    `  writes on unchanged resync   ${needlessWrites.length} needless; ${resyncWrites.length - needlessWrites.length} due to ${changed.length} relays whose status changed meanwhile${resyncWrites.length > 0 ? ` ${JSON.stringify(countBy(resyncWrites, (c) => `${c.verb} ${c.resource}`))}` : ''}`,
    `  (requests in the relays' namespace only: the informers' list and watch calls and the Lease renewals are left out)`,
  ];
  const example = changed[0];
  if (example !== undefined) {
    // Show one real change, so a reader can tell it from a needless write.
    lines.push(`  status changed meanwhile, ${example}:`, `    before ${statusBefore.get(example)}`, `    after  ${statusAfter.get(example)}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  expect(recorded.errors.filter((e) => e.error.status === 403)).toEqual([]);
  expect(needlessWrites).toEqual([]);
}, READY_TIMEOUT_MS + 300_000);
