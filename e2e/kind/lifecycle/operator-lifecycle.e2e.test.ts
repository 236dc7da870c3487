// The kind tier's last step (e2e/kind/run.sh, phase `lifecycle`): what
// changes the operator's own installation, so it runs after the suite and
// alone. The operator pod is killed and its successor takes the Lease and
// reconciles what changed meanwhile; `helm upgrade` with a changed CRD
// upgrades it in place and keeps every ViewportRelay; `helm uninstall` leaves
// nothing of the release behind but the CRD that crds.keep promises to keep
// (and, for now, the operator's Lease).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiextensionsV1Api, CoordinationV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { waitFor } from '../../controlplane/wait.js';
import { runCommand } from '../../helpers/command.js';
import { loadFixture } from '../../helpers/fixtures.js';
import { isPodReady, isReadyAtGeneration, type RelayObject } from '../../helpers/relay.js';
import { useScenario } from '../../helpers/scenario.js';

const scenario = useScenario('e2e-lifecycle');
const { provider, api } = scenario;
const namespace = provider.ctx.operatorNamespace;
const release = process.env.E2E_HELM_RELEASE ?? 'viewport-relay-operator';
const helm = process.env.E2E_HELM ?? 'helm';
const chart = resolve(import.meta.dirname, '../../../charts/viewport-relay-operator');
const crdName = 'viewportrelays.relay.getviewport.com';
const coordination = provider.kc.makeApiClient(CoordinationV1Api);
const extensions = provider.kc.makeApiClient(ApiextensionsV1Api);
const scratch = mkdtempSync(join(tmpdir(), 'viewport-lifecycle-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function operatorPods(): Promise<V1Pod[]> {
  const list = await api.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release}` });
  return list.items;
}

/** leaseHolder is the operator's Lease (named after the release) and who holds it. */
async function lease(): Promise<{ holder: string; transitions: number }> {
  const l = await coordination.readNamespacedLease({ name: release, namespace });
  return { holder: l.spec?.holderIdentity ?? '', transitions: l.spec?.leaseTransitions ?? 0 };
}

async function helmRun(...args: string[]): Promise<string> {
  const result = await runCommand(helm, [...args, '--kubeconfig', provider.ctx.kubeconfigPath]);
  const output = `${result.stdout}${result.stderr}`;
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${String(result.code)}): ${output}`);
  return output;
}

const readyWith = (replicas: number) => (r: RelayObject) => isReadyAtGeneration(r) && r.status?.readyReplicas === replicas;

describe.skipIf(provider.ctx.provider !== 'kind')("the operator's installation", () => {
  it('a killed operator pod: its successor takes the Lease and reconciles what changed meanwhile', async () => {
    await api.create(loadFixture('minimal', scenario.platformUrls()));
    await api.waitForRelay('relay', 'relay Ready', readyWith(1));
    const before = await lease();
    const [leader] = (await operatorPods()).filter((p) => p.metadata?.name === before.holder);
    expect(leader, `Lease holder ${before.holder} is an operator pod`).toBeDefined();

    // SIGKILL, no release of the Lease: the successor must wait it out.
    await api.core.deleteNamespacedPod({ name: before.holder, namespace, gracePeriodSeconds: 0 });
    await api.patch('relay', { spec: { pod: { env: [{ name: 'E2E_REVISION', value: '2' }] } } });
    const successor = await waitFor(
      'another operator pod to hold the Lease',
      async () => {
        const { holder, transitions } = await lease();
        const pod = (await operatorPods()).find((p) => p.metadata?.name === holder);
        return holder !== before.holder && pod !== undefined && isPodReady(pod) ? { holder, transitions } : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(successor.transitions).toBeGreaterThan(before.transitions);
    await api.waitForRelay('relay', 'the change made while no operator ran to be reconciled', readyWith(1));
  });

  it('helm upgrade with a changed CRD upgrades it in place; the relays stay and are reconciled', async () => {
    // The same chart with one printer column more in the CRD.
    const next = join(scratch, 'chart');
    cpSync(chart, next, { recursive: true });
    const crdFile = join(next, 'files', 'crd.yaml');
    const crd = parse(readFileSync(crdFile, 'utf8')) as { spec: { versions: { additionalPrinterColumns?: Record<string, unknown>[] }[] } };
    for (const version of crd.spec.versions) {
      version.additionalPrinterColumns = [...(version.additionalPrinterColumns ?? []), { name: 'E2E-Upgraded', type: 'string', jsonPath: '.metadata.name', priority: 1 }];
    }
    writeFileSync(crdFile, stringify(crd));

    await helmRun('upgrade', release, next, '--namespace', namespace, '--reuse-values', '--wait', '--timeout', '5m');
    const live = await extensions.readCustomResourceDefinition({ name: crdName });
    for (const version of live.spec.versions) {
      expect((version.additionalPrinterColumns ?? []).map((c) => c.name), version.name).toContain('E2E-Upgraded');
    }
    expect(await api.read('relay')).toBeDefined();
    await api.patch('relay', { spec: { pod: { env: [{ name: 'E2E_REVISION', value: '3' }] } } });
    await api.waitForRelay('relay', 'relay reconciled after the upgrade', readyWith(1));
  });

  it('helm uninstall leaves nothing of the release behind but the Lease; the CRD stays, as crds.keep promises', async () => {
    await helmRun('uninstall', release, '--namespace', namespace, '--wait', '--timeout', '5m');
    // What every namespace has, and the Lease the operator created, which no
    // one deletes (docs/e2e.md, "Known problems").
    const expected = ['configmap/kube-root-ca.crt', `lease/${release}`, 'serviceaccount/default'];
    await waitFor(
      `the ${namespace} namespace to hold only ${expected.join(', ')}`,
      async () => {
        const listed = await runCommand(provider.ctx.kubectl, [
          '--kubeconfig', provider.ctx.kubeconfigPath, '-n', namespace, '-o', 'name',
          'get', 'deployments,replicasets,pods,services,serviceaccounts,secrets,configmaps,roles,rolebindings,leases',
        ]);
        const left = listed.stdout.split('\n').filter(Boolean).map((n) => n.replace(/^([a-z]+)\.[^/]*\//, '$1/')).sort();
        if (left.join() !== expected.join()) throw new Error(`left behind: ${left.join(', ')} ${listed.stderr}`);
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    for (const kind of ['clusterroles', 'clusterrolebindings']) {
      const listed = await runCommand(provider.ctx.kubectl, ['--kubeconfig', provider.ctx.kubeconfigPath, 'get', kind, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
      expect(listed.stdout.trim(), `${kind} of the release`).toBe('');
    }
    const crd = await extensions.readCustomResourceDefinition({ name: crdName });
    expect(crd.metadata?.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(await api.read('relay')).toBeDefined();
  });
});
