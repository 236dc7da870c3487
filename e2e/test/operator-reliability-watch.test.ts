// Issue 11, the operator when its watches keep breaking: a private control plane
// whose API server ends every watch after a second or two, serves watches
// straight from etcd (no watch cache) and compacts etcd every second, so a
// re-watch from the last seen resourceVersion can be answered 410 Gone. The
// informers must list again (the API server's own LIST counter shows they do);
// spec changes made after each relist, and after an API server restart, still
// converge without restarting the operator.
import { CoreV1Api } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import type { KubeObject } from '../../operator/src/object.js';
import { installCrds, startControlPlane, waitFor, type ControlPlane } from '../controlplane/index.js';
import { memoryLogger, readRelay, readyRelay, testOperatorConfig } from './operator-harness.js';

const repo = resolve(import.meta.dirname, '../..');
const namespace = 'watch-expiry';
const logLines: string[] = [];
let cp: ControlPlane;
let operator: Operator | undefined;

/** relayLists reads how many LISTs of viewportrelays the API server has served (its own metrics). */
async function relayLists(): Promise<number> {
  const res = await cp.kubectl(['get', '--raw', '/metrics']);
  let n = 0;
  for (const line of res.stdout.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('resource="viewportrelays"') && line.includes('verb="LIST"')) n += Number(line.split(' ').pop());
  }
  return n;
}

beforeAll(async () => {
  cp = await startControlPlane({
    toolchain: inject('toolchain'),
    controllerManager: true,
    scheduler: true,
    kwok: true,
    extraApiServerArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s', '--min-request-timeout=1'],
  });
  await installCrds(cp, join(repo, 'crds'));
  const core = cp.adminKubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'relay-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });
});
afterAll(async () => {
  await operator?.stop();
  await cp?.stop();
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-80).join('\n')}\n${cp.logs()}\n`);
});

describe('watch expiry and 410 Gone', () => {
  it('informers list again after expired or 410-refused watches and an API server restart; every spec change converges without an operator restart', async () => {
    const kube = new ClientKube(cp.adminKubeConfig);
    operator = createOperator({ kube, config: testOperatorConfig({ namespaces: [namespace], identity: 'watch-expiry', leaderElect: false, leaseNamespace: namespace }), log: memoryLogger(logLines, 'watch') });
    operator.start();
    await waitFor('the operator synced', () => (operator?.ready() ? true : undefined));
    const doc = parse(readFileSync(join(repo, 'examples/minimal-single.yaml'), 'utf8')) as KubeObject;
    doc.metadata = { ...doc.metadata, name: 'relay', namespace };
    expect((await cp.kubectl(['apply', '-f', '-'], { input: stringify(doc) })).stderr).toBe('');
    await waitFor('Ready at generation 1', () => readyRelay(kube, namespace, 1), { timeoutMs: 90_000 });
    // Several spec changes, each made only after the relay informer had to list
    // again (its watch ended, and etcd had been compacted past its resourceVersion).
    const modes = ['staging', 'prod', 'staging', 'prod'];
    let lists = await relayLists();
    let relists = 0;
    for (const [i, mode] of modes.entries()) {
      if (i === 2) {
        // Halfway, the API server itself restarts (etcd keeps the data): every watch
        // breaks at once, and its request counters start again from zero.
        await cp.restartApiServer();
        lists = 0;
      }
      const seen = lists;
      lists = await waitFor('the relay informer to list again', async () => {
        const n = await relayLists();
        return n > seen ? n : undefined;
      }, { timeoutMs: 60_000 });
      relists += lists - seen;
      const patched = await cp.kubectl(['patch', '-n', namespace, 'vrelay/relay', '--type=merge', '-p', JSON.stringify({ spec: { relayMode: mode } })]);
      expect(patched.stderr).toBe('');
      // The operator's part of each change: it sees the new generation and applies it
      // to the Deployment. Pods turning Ready is the controller-manager's and kwok's
      // part; their own watches break as often (and right after the restart the new
      // API server may refuse them 403 until its RBAC cache syncs, backing them off),
      // so Ready is awaited per change only before the restart, and once at the end.
      await waitFor(`generation ${i + 2} applied (RELAY_MODE=${mode})`, async () => {
        const r = await readRelay(kube, namespace);
        if (r?.status?.observedGeneration !== i + 2) return undefined;
        const deploy = await cp.kubectl(['get', '-n', namespace, 'deployment/relay', '-o', 'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="RELAY_MODE")].value}']);
        return deploy.stdout.trim() === mode ? true : undefined;
      }, { timeoutMs: 60_000 });
      if (i < 2) await waitFor(`Ready at generation ${i + 2}`, () => readyRelay(kube, namespace, i + 2), { timeoutMs: 60_000 });
    }
    await waitFor(`Ready at generation ${modes.length + 1}`, () => readyRelay(kube, namespace, modes.length + 1), { timeoutMs: 180_000 });
    process.stdout.write(`[reliability] watch expiry: ${modes.length} spec changes (one after an API server restart), each after a relist, converged; ${relists} relay LISTs observed\n`);
    expect(relists).toBeGreaterThanOrEqual(modes.length);
    expect(operator.ready()).toBe(true);
  }, 480_000);
});
