// Issue 26 item 1 (and 23.6): the operator's memory must not grow with Secrets
// that have nothing to do with it. The built operator runs as a real process
// (as the chart's ServiceAccount, cluster-wide, the default install) next to a
// relay; 38 MiB of unrelated Secrets are created; its resident set is read
// from /proc before and after. It used to cache every Secret in the cluster
// (263 MiB steady after the same 38 MiB, past the chart's 256 Mi limit).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClientKube } from '../../operator/src/kube/client.js';
import { kubeConfigForServiceAccount, waitFor } from '../controlplane/index.js';
import { startComponent, type Component } from '../controlplane/process.js';
import { chartIdentity, chartRbac, readyRelay, testRelayImage } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const admin = new ClientKube(shared.kc);
const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'operator/dist/cli.js');

const operatorNamespace = 'mem-system';
const relayNamespace = 'mem-relay';
const noiseNamespace = 'mem-noise';
const SECRET_BYTES = 100 * 1024;
const SECRETS = 389; // 38 MiB
/** Allowed growth of the steady resident set: far below the 38 MiB it would take to hold them. */
const MAX_GROWTH_MIB = 20;

let dir = '';
let operator: Component | undefined;
let logPath = '';

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${String(pid)}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) / 1024;
}

/** sampleRss reads the resident set every 250 ms for `ms`; the steady value is the median of the last half. */
async function sampleRss(pid: number, ms: number): Promise<{ steady: number; peak: number }> {
  const samples: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    samples.push(rssMiB(pid));
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = samples.slice(Math.floor(samples.length / 2)).sort((a, b) => a - b);
  return { steady: tail[Math.floor(tail.length / 2)] ?? 0, peak: Math.max(...samples) };
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const rbac = chartRbac(inject('toolchain').helm, 'mem', operatorNamespace);
  for (const ns of [operatorNamespace, relayNamespace, noiseNamespace]) await core.createNamespace({ body: { metadata: { name: ns } } });
  const applied = await shared.kubectl(['apply', '--server-side', '-f', '-'], rbac.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  await core.createNamespacedSecret({ namespace: relayNamespace, body: { metadata: { name: 'viewport-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });

  dir = mkdtempSync(join(tmpdir(), 'viewport-operator-memory-'));
  const kc = await kubeConfigForServiceAccount(shared.kc, operatorNamespace, chartIdentity(rbac).serviceAccount);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  logPath = join(dir, 'operator.log');
  operator = startComponent({
    name: 'operator',
    command: process.execPath,
    // Scoped to the relay's and the noise's namespaces: the other test files of this tier
    // create relays on the same API server meanwhile, and caching their children would be
    // growth this test did not cause. Before the fix Secrets were watched unfiltered in the
    // watched namespaces too, so the noise still reached the operator.
    args: [
      cli, 'run', '--kubeconfig', kubeconfig, '--leader-elect=false', '--metrics-port', '0', '--health-port', '0', '--relay-image', testRelayImage,
      '--namespaces', `${relayNamespace},${noiseNamespace}`,
    ],
    logPath,
    recordIn: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir },
  });
  const started = operator;
  await waitFor('the operator to start', () => (readFileSync(logPath, 'utf8').includes('operator_started') ? true : undefined), {
    abort: () => (started.hasExited() ? `operator exited:\n${readFileSync(logPath, 'utf8')}` : undefined),
  });
});

afterAll(async () => {
  await operator?.stop(5_000);
  await core.deleteNamespace({ name: noiseNamespace }).catch(() => undefined);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('operator memory beside unrelated Secrets (issue 26.1)', () => {
  it(`stays flat when ${String(SECRETS)} unrelated Secrets (38 MiB) appear`, async () => {
    const pid = (operator as Component).pid;
    const relay = {
      apiVersion: 'relay.getviewport.com/v1alpha1',
      kind: 'ViewportRelay',
      metadata: { name: 'relay', namespace: relayNamespace },
      spec: { platform: { validateUrl: 'https://api.example.com/validate', internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' } } },
    };
    expect((await shared.kubectl(['apply', '-f', '-'], stringify(relay))).stderr).toBe('');
    await waitFor('Ready', () => readyRelay(admin, relayNamespace), { timeoutMs: 90_000 });
    const idle = await sampleRss(pid, 6_000);

    for (let i = 0; i < SECRETS; i++) {
      const blob = randomBytes((SECRET_BYTES * 3) / 4).toString('base64');
      await core.createNamespacedSecret({ namespace: noiseNamespace, body: { metadata: { name: `noise-${String(i)}` }, data: { blob } } });
    }
    // Something the operator must act on after the noise: a referenced Secret rotates and the pods roll.
    await core.patchNamespacedSecret({
      namespace: relayNamespace,
      name: 'viewport-platform',
      body: [{ op: 'replace', path: '/data/internal-key', value: Buffer.from('r'.repeat(32)).toString('base64') }],
    });
    await waitFor('the pods to roll for the rotated Secret', async () => {
      const d = await admin.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: relayNamespace, name: 'relay' });
      return d.ok && (d.value?.metadata.generation ?? 0) > 1 ? true : undefined;
    });
    const after = await sampleRss(pid, 10_000);
    process.stdout.write(
      `operator RSS: idle ${idle.steady.toFixed(0)} MiB (peak ${idle.peak.toFixed(0)}); ` +
        `with 38 MiB of unrelated Secrets: steady ${after.steady.toFixed(0)} MiB, peak ${after.peak.toFixed(0)} MiB\n`,
    );
    expect(after.steady - idle.steady).toBeLessThan(MAX_GROWTH_MIB);
  });
});
