// Issue 26, item 5 on the shared control plane: children edited or patched
// behind the operator's back (an Ingress annotation, a Service port changed by
// `kubectl patch`, which left the relay stalled on a duplicate port name) come
// back within one resync.
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, RELAY_KIND } from '../../operator/src/api/v1alpha1/group.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import { installCrds, waitFor } from '../controlplane/index.js';
import { startExposureStandIns } from './exposure-stand-in.js';
import { conditionOf, memoryLogger, readyRelay, testOperatorConfig } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const networking = shared.kc.makeApiClient(NetworkingV1Api);
const kube = new ClientKube(shared.kc);

const DRIFT = 'dr-drift';
const RESYNC_MS = 3000;
const namespaces = [DRIFT];

const logLines: string[] = [];
let operator: Operator;
let standIns: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  await installCrds(shared, join(import.meta.dirname, 'fixtures/addon-crds'));
  await core.createNamespace({ body: { metadata: { name: DRIFT } } });
  await core.createNamespacedSecret({ namespace: DRIFT, body: { metadata: { name: 'relay-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });
  operator = createOperator({
    kube,
    config: { ...testOperatorConfig({ namespaces, identity: 'e2e-drift', leaderElect: false, leaseNamespace: DRIFT }), resyncMs: RESYNC_MS },
    log: memoryLogger(logLines, 'operator'),
  });
  operator.start();
  standIns = startExposureStandIns(shared.kc, namespaces);
  await waitFor('the operator to sync', () => (operator.ready() ? true : undefined));
});

afterAll(async () => {
  await standIns?.stop();
  await operator?.stop();
  for (const name of namespaces) await core.deleteNamespace({ name });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

describe('drift correction on every resync (issue 26 item 5)', () => {
  const annotation = 'nginx.ingress.kubernetes.io/proxy-read-timeout';

  beforeAll(async () => {
    const relay = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: RELAY_KIND,
      metadata: { name: 'relay', namespace: DRIFT },
      spec: {
        platform: { validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate', internalKeySecretRef: { name: 'relay-platform', key: 'internal-key' } },
        exposure: { host: 'relay.drift.example.com', ingress: { className: 'nginx', annotations: { [annotation]: '3600' } } },
      },
    };
    expect((await shared.kubectl(['apply', '--server-side', '--field-manager=e2e-user', '-f', '-'], stringify(relay))).stderr).toBe('');
    await waitFor('the drift relay Ready', () => readyRelay(kube, DRIFT), { timeoutMs: 90_000 });
  });

  it('an Ingress annotation edited with kubectl comes back within a resync', async () => {
    const edit = await shared.kubectl(['annotate', '--overwrite', '-n', DRIFT, 'ingress/relay', `${annotation}=5`]);
    expect(edit.code).toBe(0);
    const started = Date.now();
    await waitFor('the annotation restored', async () => {
      const ing = await networking.readNamespacedIngress({ namespace: DRIFT, name: 'relay' });
      return ing.metadata?.annotations?.[annotation] === '3600' ? true : undefined;
    }, { timeoutMs: 2 * RESYNC_MS + 10_000 });
    process.stdout.write(`[drift] Ingress annotation restored after ${Date.now() - started} ms\n`);
  });

  it('a Service port changed with kubectl patch comes back, without a duplicate port name and without stalling', async () => {
    const before = await core.readNamespacedService({ namespace: DRIFT, name: 'relay' });
    const patch = await shared.kubectl(['patch', '-n', DRIFT, 'service/relay', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 7782 }])]);
    expect(patch.stderr).toBe('');
    const restored = await waitFor('the port restored', async () => {
      const svc = await core.readNamespacedService({ namespace: DRIFT, name: 'relay' });
      const ports = svc.spec?.ports ?? [];
      return ports.length === 1 && ports[0]?.port === 7781 && ports[0]?.name === 'ws' ? svc : undefined;
    }, { timeoutMs: 2 * RESYNC_MS + 10_000 });
    // Repaired in place: the ClusterIP (and every client's conntrack entry) survives.
    expect(restored.spec?.clusterIP).toBe(before.spec?.clusterIP);
    const relay = await waitFor('Ready, not stalled', () => readyRelay(kube, DRIFT), { timeoutMs: 30_000 });
    expect(conditionOf(relay, 'Stalled')?.status).toBe('False');
  });
});
