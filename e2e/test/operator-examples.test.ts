// Issue 26, items 6 and 8 on the shared control plane: every example, applied
// exactly as docs/install.md tells a user (the prerequisites, the Secrets it
// names, then `kubectl apply -f examples/` into one namespace), becomes Ready
// next to the others; and `render | kubectl diff --server-side -f -` is empty for
// every one of them afterwards (kubectl, a YAML 1.1 reader, reads the managed
// Redis `--appendonly no` as the string it is).
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, RELAY_PLURAL } from '../../operator/src/api/v1alpha1/group.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import { formatObjects, renderRelays } from '../../operator/src/render.js';
import { installCrds, waitFor } from '../controlplane/index.js';
import { startExposureStandIns } from './exposure-stand-in.js';
import { conditionOf, memoryLogger, readRelay, readyRelay, testOperatorConfig, testRelayImage, type Relay } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const custom = shared.kc.makeApiClient(CustomObjectsApi);
const kube = new ClientKube(shared.kc);

const repo = resolve(import.meta.dirname, '../..');
const examplesDir = join(repo, 'examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
/** NAMESPACE is the examples' own namespace (docs/install.md creates it). */
const NAMESPACE = 'viewport';

/** The Secrets the examples' headers list, with fake but well-formed values. */
const secrets: { name: string; type?: string; data: Record<string, string> }[] = [
  { name: 'relay-platform', data: { 'internal-key': 'k'.repeat(32) } },
  { name: 'relay-admin', data: { token: 't'.repeat(32) } },
  { name: 'relay-redis', data: { url: 'rediss://:secret@redis.example.com:6380/0' } },
  { name: 'relay-bus', data: { 'hmac-key': 'h'.repeat(32) } },
  { name: 'relay-platform-client', type: 'kubernetes.io/tls', data: { 'tls.crt': 'cert', 'tls.key': 'key', 'ca.crt': 'ca' } },
];

const relayOf = (file: string): Relay => parse(readFileSync(join(examplesDir, file), 'utf8')) as Relay;
const logLines: string[] = [];
let operator: Operator;
let standIns: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  await installCrds(shared, join(import.meta.dirname, 'fixtures/addon-crds'));
  const ns = await shared.kubectl(['create', 'namespace', NAMESPACE]);
  expect(ns.code === 0 || ns.stderr.includes('AlreadyExists'), ns.stderr).toBe(true);
  for (const s of secrets) await core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name: s.name }, ...(s.type ? { type: s.type } : {}), stringData: s.data } });
  operator = createOperator({
    kube,
    config: testOperatorConfig({ namespaces: [NAMESPACE], identity: 'e2e-examples', leaderElect: false, leaseNamespace: NAMESPACE }),
    log: memoryLogger(logLines, 'operator'),
  });
  operator.start();
  standIns = startExposureStandIns(shared.kc, [NAMESPACE]);
  await waitFor('the operator to sync', () => (operator.ready() ? true : undefined));
});

afterAll(async () => {
  await standIns?.stop();
  for (const file of examples) {
    await custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: RELAY_PLURAL, name: relayOf(file).metadata.name }).catch(() => undefined);
  }
  await operator?.stop();
  // The namespace stays (other files dry-run the examples into it); what this file put there goes.
  for (const s of secrets) await core.deleteNamespacedSecret({ namespace: NAMESPACE, name: s.name }).catch(() => undefined);
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

describe('examples (issue 26 item 8)', () => {
  it('have distinct names and name only the Secrets docs/install.md and their headers create', () => {
    const names = examples.map((f) => relayOf(f).metadata.name);
    expect(new Set(names).size).toBe(examples.length);
    const install = readFileSync(join(repo, 'docs/install.md'), 'utf8');
    for (const file of examples) {
      const text = readFileSync(join(examplesDir, file), 'utf8');
      const refs = [...text.matchAll(/^\s+(?:name|mtlsSecretName): (relay-[a-z0-9-]+)$/gm)].map((m) => m[1]!);
      for (const ref of refs.filter((r) => secrets.some((s) => s.name === r))) {
        expect(install.includes(ref) || text.split('apiVersion:')[0]!.includes(ref), `${file}: Secret ${ref} is documented`).toBe(true);
      }
    }
    expect(install).toContain('relay-platform');
  });

  it('all apply together into one namespace, prerequisites first, and all become Ready', async () => {
    const prerequisites = await shared.kubectl(['apply', '--server-side', '-f', join(examplesDir, 'prerequisites')]);
    expect(prerequisites.stderr).toBe('');
    const applied = await shared.kubectl(['apply', '--server-side', '-f', examplesDir]);
    expect(applied.stderr).toBe('');
    for (const file of examples) {
      const name = relayOf(file).metadata.name;
      const relay = await waitFor(`${file} (${name}) Ready`, () => readyRelay(kube, NAMESPACE, 1, name), { timeoutMs: 120_000 });
      expect(conditionOf(relay, 'Stalled')?.status, file).toBe('False');
    }
  });
});

describe('render | kubectl diff --server-side (issue 26 item 6)', () => {
  it.each(examples)('%s: empty on the applied, unchanged relay', async (file) => {
    const name = relayOf(file).metadata.name;
    await waitFor(`${file} Ready`, () => readyRelay(kube, NAMESPACE, 1, name), { timeoutMs: 60_000 });
    const rendered = renderRelays(readFileSync(join(examplesDir, file), 'utf8'), { relayImage: testRelayImage });
    if (!rendered.ok) throw new Error(rendered.errors.join('\n'));
    const text = formatObjects(rendered.objects, 'yaml');
    // kubectl diff reads the live object and dry-runs the apply in two requests: a controller writing
    // status in between (kwok's node heartbeat lapses on a loaded machine) shows up as a diff, so an
    // empty diff is awaited; a rendered field that differs never becomes empty.
    let last = { code: -1, stdout: '', stderr: '' };
    await waitFor(`an empty server-side diff for ${file}`, async () => {
      last = await shared.kubectl(['diff', '--server-side', '-f', '-'], text);
      if (last.code === 0 && last.stdout === '' && last.stderr === '') return true;
      throw new Error(`${last.stderr}${last.stdout}`.slice(0, 2000));
    }, { timeoutMs: 20_000, intervalMs: 1000 });
    expect(last).toEqual({ code: 0, stdout: '', stderr: '' });
    // The dry run changed nothing: the relay is still at its first generation.
    expect((await readRelay(kube, NAMESPACE, name))?.status?.observedGeneration).toBe(1);
  });
});
