// Issue 11, the operator under hostile input and interference, on the shared
// control plane: fuzzed specs (through the zod schema and through the API
// server) are refused or reported Stalled with a reason and never crash the
// operator; a missing Secret stalls with a message naming only the reference;
// another field manager's edits to owned fields are reverted while its own
// fields are left alone; a rotated Secret converges; no Secret value ever
// appears in the operator's logs, Events or status; and every workload the
// operator renders passes the restricted Pod Security Standard as enforced by
// the API server.
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, FIELD_MANAGER, RELAY_KIND, RELAY_PLURAL } from '../../operator/src/api/v1alpha1/group.js';
import { REASONS } from '../../operator/src/api/v1alpha1/conditions.js';
import { parseRelay } from '../../operator/src/api/v1alpha1/relay.js';
import { desiredChildren } from '../../operator/src/desired/index.js';
import { relayModel } from '../../operator/src/desired/model.js';
import { generatedSecretValues } from '../../operator/src/desired/secret.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import type { KubeObject } from '../../operator/src/object.js';
import { installCrds, waitFor } from '../controlplane/index.js';
import { conditionOf, memoryLogger, readRelay, readyRelay, testOperatorConfig, testRelayImage, type Relay } from './operator-harness.js';
import { startExposureStandIns } from './exposure-stand-in.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const apps = shared.kc.makeApiClient(AppsV1Api);
const custom = shared.kc.makeApiClient(CustomObjectsApi);
const kube = new ClientKube(shared.kc);

const examplesDir = resolve(import.meta.dirname, '../../examples');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
const NS = { fuzz: 'rel-fuzz', missing: 'rel-missing', conflict: 'rel-conflict', pss: 'rel-pss' } as const;

// Distinctive secret values, so a leak anywhere is found by a plain search.
const secretValue = (what: string) => `leakcheck-${what}-${randomBytes(12).toString('hex')}`;
const secretValues: string[] = [];
function secretsFor(namespace: string): { name: string; data: Record<string, string> }[] {
  const v = (what: string) => {
    const value = secretValue(what);
    secretValues.push(value);
    return value;
  };
  return [
    { name: 'relay-platform', data: { 'internal-key': v('internal-key') } },
    { name: 'relay-admin', data: { token: v('admin-token') } },
    { name: 'relay-redis', data: { url: `rediss://:${v('redis-password')}@redis.${namespace}.example.com:6380/0` } },
    { name: 'relay-bus', data: { 'hmac-key': v('hmac') } },
    { name: 'relay-platform-client', data: { 'tls.crt': v('crt'), 'tls.key': v('key'), 'ca.crt': v('ca') } },
  ];
}

const logLines: string[] = [];
let operator: Operator;
let standIns: { stop(): Promise<void> } | undefined;

function exampleRelay(file: string, namespace: string, name = 'relay'): Relay {
  const doc = parse(readFileSync(join(examplesDir, file), 'utf8')) as Relay;
  doc.metadata = { name, namespace };
  return doc;
}

async function apply(obj: object): Promise<void> {
  const res = await shared.kubectl(['apply', '--server-side', '--field-manager=e2e-user', '-f', '-'], stringify(obj));
  expect(res.stderr).toBe('');
}

async function createRaw(obj: object): Promise<{ code: number; message: string }> {
  try {
    await custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: (obj as Relay).metadata.namespace as string, plural: RELAY_PLURAL, body: obj });
    return { code: 201, message: '' };
  } catch (error) {
    const e = error as { code?: number; body?: unknown };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
    return { code: e.code ?? -1, message: body?.message ?? String(error) };
  }
}

/** settled: the operator observed the relay's generation and wrote conditions for it. */
async function settled(namespace: string, name: string): Promise<Relay> {
  return waitFor(`${namespace}/${name} observed by the operator`, async () => {
    const r = await readRelay(kube, namespace, name);
    const g = r?.metadata.generation;
    return r !== undefined && r.status?.observedGeneration === g && (r.status?.conditions?.length ?? 0) > 0 ? r : undefined;
  }, { timeoutMs: 60_000 });
}

beforeAll(async () => {
  // A cluster prerequisite some examples use (applying is idempotent).
  await installCrds(shared, join(import.meta.dirname, 'fixtures/addon-crds'));
  for (const namespace of Object.values(NS)) {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    if (namespace === NS.missing) continue; // that one has no Secrets on purpose
    for (const s of secretsFor(namespace)) await core.createNamespacedSecret({ namespace, body: { metadata: { name: s.name }, stringData: s.data } });
  }
  await core.patchNamespace({
    name: NS.pss,
    body: [{ op: 'add', path: '/metadata/labels', value: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } }],
  });
  operator = createOperator({
    kube,
    config: testOperatorConfig({ namespaces: Object.values(NS), identity: 'e2e-reliability', leaderElect: false, leaseNamespace: NS.fuzz }),
    log: memoryLogger(logLines, 'operator'),
  });
  operator.start();
  // The managed-redis example is exposed through an Ingress: a stand-in controller gives it an address.
  standIns = startExposureStandIns(shared.kc, [NS.pss, NS.conflict]);
  await waitFor('the operator to sync', () => (operator.ready() ? true : undefined));
});

afterAll(async () => {
  await standIns?.stop();
  await operator?.stop();
  // The shared fake node has room for 110 pods: give ours back to the files that run next.
  for (const name of Object.values(NS)) await core.deleteNamespace({ name });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

// ---- fuzzed specs ----

const odd = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('', 'x', -1, 0, 1, 2.5, 65536, null, true, [], {}, 'redis', 'server', 'pinned', '{pod}.relay.example.com', 'relay.example.com'));
// Each fuzzed field gets a plausible value most of the time (so some specs pass
// the API server and reach the operator), and an odd one otherwise.
const fields: [readonly string[], readonly unknown[]][] = [
  [['replicas'], [1, 2, 3, 0]],
  [['backplane'], [{ mode: 'redis', redis: { managed: {} } }, { mode: 'single' }]],
  [['backplane', 'mode'], ['single', 'redis', 'server']],
  [['routing', 'mode'], ['shared', 'pinned']],
  [['routing', 'podHostPattern'], ['{pod}.relay.example.com']],
  [['exposure', 'host'], ['relay.example.com']],
  [['exposure', 'ingress'], [{}]],
  [['autoscaling'], [{ minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 70 }]],
  [['admin', 'enabled'], [true, false]],
  [['pod', 'resources'], [{ limits: { cpu: '1', memory: '256Mi' } }]],
  [['pod', 'env'], [[{ name: 'RELAY_EXTRA', value: 'x' }]]],
  [['platform', 'authMode'], ['mtls', 'private_network_shared_secret']],
  [['podDisruptionBudget'], [{ minAvailable: 1 }, { maxUnavailable: 1 }]],
  [['clientRedirect', 'enabled'], [true, false]],
  [['unknownField'], [1]],
];
const edit = fc.constantFrom(...fields).chain(([path, plausible]) =>
  fc.tuple(fc.constant(path), fc.oneof({ arbitrary: fc.constantFrom(...plausible), weight: 3 }, { arbitrary: odd, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 })),
);

/** fuzzedSpec starts from an example's spec and sets, replaces or deletes a few fields. */
const fuzzedSpec = fc
  .tuple(fc.constantFrom(...examples), fc.array(edit, { minLength: 1, maxLength: 3 }))
  .map(([file, edits]) => {
    const spec = structuredClone(exampleRelay(file, 'x').spec) as Record<string, unknown>;
    for (const [path, value] of edits) {
      let at = spec;
      for (const key of path.slice(0, -1)) {
        if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
        at = at[key] as Record<string, unknown>;
      }
      const last = path[path.length - 1] as string;
      if (value === undefined) delete at[last];
      else at[last] = value;
    }
    return spec;
  });

describe('invalid ViewportRelays', () => {
  it('the zod schema answers any spec with a value, and the builders accept whatever it accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fuzzedSpec, (spec) => {
        const raw = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: RELAY_KIND, metadata: { name: 'fuzz', namespace: 'ns', uid: 'u', generation: 1 }, spec };
        const parsed = parseRelay(raw);
        if (!parsed.ok) {
          expect(parsed.problems.length).toBeGreaterThan(0);
          for (const p of parsed.problems) expect(p.message.length).toBeGreaterThan(0);
          return;
        }
        accepted += 1;
        const model = relayModel(parsed.relay, { relayImage: testRelayImage });
        const children = desiredChildren({ model, generated: generatedSecretValues(model, {}, () => 'g'), secretsChecksum: 'c' });
        for (const c of children) {
          expect(c.metadata.name.length).toBeGreaterThan(0);
          expect(c.metadata.name.length).toBeLessThanOrEqual(253);
        }
      }),
      { numRuns: 3000, seed: 11 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('fuzzed specs sent to the API server are refused (422) or reconciled to a condition with a known reason; the operator stays up', async () => {
    const specs = fc.sample(fuzzedSpec, { numRuns: 24, seed: 7 });
    const outcomes: string[] = [];
    for (const [i, spec] of specs.entries()) {
      const name = `fuzz-${i}`;
      const res = await createRaw({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: RELAY_KIND, metadata: { name, namespace: NS.fuzz }, spec });
      if (res.code !== 201) {
        expect([400, 422]).toContain(res.code);
        expect(res.message.length).toBeGreaterThan(0);
        outcomes.push(`${res.code}`);
        continue;
      }
      const r = await settled(NS.fuzz, name);
      for (const c of r.status?.conditions ?? []) expect(REASONS as readonly string[]).toContain(c.reason);
      const stalled = conditionOf(r, 'Stalled');
      if (!parseRelay(r).ok) expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
      if (stalled?.status === 'True') expect((stalled as { message?: string }).message ?? '').not.toBe('');
      outcomes.push(stalled?.status === 'True' ? `Stalled/${stalled.reason}` : `${conditionOf(r, 'Ready')?.status === 'True' ? 'Ready' : 'Reconciling'}`);
    }
    expect(operator.ready()).toBe(true);
    process.stdout.write(`[reliability] fuzzed ViewportRelays through the API server: ${outcomes.join(', ')}\n`);
  });

  it('a relay whose Secret is missing is Stalled (SecretNotFound) with a message naming only the reference', async () => {
    await apply(exampleRelay('minimal-single.yaml', NS.missing));
    const r = await settled(NS.missing, 'relay');
    const stalled = conditionOf(r, 'Stalled') as { status: string; reason: string; message?: string };
    expect(stalled).toMatchObject({ status: 'True', reason: 'SecretNotFound' });
    expect(stalled.message).toContain('relay-platform/internal-key');
  });
});

// ---- interference ----

describe('conflicting writers and Secret rotation', () => {
  const workloadName = async () => {
    const r = await readRelay(kube, NS.conflict);
    const parsed = parseRelay(r);
    if (!parsed.ok) throw new Error('example does not parse');
    const model = relayModel(parsed.relay, { relayImage: testRelayImage });
    const w = desiredChildren({ model, generated: generatedSecretValues(model, {}, () => 'g'), secretsChecksum: 'c' }).find((c) => c.kind === 'Deployment' && c.metadata.labels?.['app.kubernetes.io/component'] === 'relay');
    return w?.metadata.name as string;
  };

  beforeAll(async () => {
    await apply(exampleRelay('minimal-single.yaml', NS.conflict));
    await waitFor('the conflict relay Ready', () => readyRelay(kube, NS.conflict), { timeoutMs: 90_000 });
  });

  it('another field manager force-setting an owned field is reverted; its own extra field is left alone', async () => {
    const name = await workloadName();
    const before = await apps.readNamespacedDeployment({ namespace: NS.conflict, name });
    const container = before.spec?.template.spec?.containers[0]?.name as string;
    const intrusion = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS.conflict, annotations: { 'intruder.example.com/note': 'kept' } },
      spec: { template: { spec: { containers: [{ name: container, image: 'example.invalid/intruder:1' }] } } },
    };
    const res = await shared.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=intruder', '-f', '-'], stringify(intrusion));
    expect(res.code).toBe(0);
    const reverted = await waitFor('the image to be reverted', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: NS.conflict, name });
      return d.spec?.template.spec?.containers[0]?.image === testRelayImage ? d : undefined;
    });
    expect(reverted.metadata?.annotations?.['intruder.example.com/note']).toBe('kept');
    // Converged, not fighting: another pass writes nothing. The resourceVersion
    // cannot tell: the deployment controller keeps writing status while the
    // rollout settles. The spec's generation and the operator's own managedFields
    // entry change only when the operator writes.
    await waitFor('the relay Ready again', () => readyRelay(kube, NS.conflict));
    const operatorWrites = async () => {
      const d = await apps.readNamespacedDeployment({ namespace: NS.conflict, name });
      const own = d.metadata?.managedFields?.filter((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply');
      return { generation: d.metadata?.generation, own: JSON.stringify(own) };
    };
    const written = await operatorWrites();
    expect(JSON.parse(written.own) as unknown[]).toHaveLength(1);
    expect(await operator.reconcile(`${NS.conflict}/relay`)).toMatchObject({ result: 'done' });
    expect(await operatorWrites()).toEqual(written);
  });

  it('a rotated Secret rolls the pods and the relay converges to Ready without an operator restart', async () => {
    const name = await workloadName();
    const before = await apps.readNamespacedDeployment({ namespace: NS.conflict, name });
    const rotated = secretValue('rotated-internal-key');
    secretValues.push(rotated);
    await core.patchNamespacedSecret({
      namespace: NS.conflict,
      name: 'relay-platform',
      body: [{ op: 'replace', path: '/data/internal-key', value: Buffer.from(rotated).toString('base64') }],
    });
    // Secrets are not watched: the next resync or any relay event picks the change up; a spec touch stands in for the resync.
    await custom.patchNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace: NS.conflict,
      plural: RELAY_PLURAL,
      name: 'relay',
      body: [{ op: 'add', path: '/metadata/annotations', value: { 'e2e.example.com/rotated': '1' } }],
    });
    await waitFor('a new pod template', async () => {
      const d = await apps.readNamespacedDeployment({ namespace: NS.conflict, name });
      return (d.metadata?.generation ?? 0) > (before.metadata?.generation ?? 0) ? true : undefined;
    }, { timeoutMs: 60_000 });
    await waitFor('Ready after the rotation', () => readyRelay(kube, NS.conflict), { timeoutMs: 90_000 });
    expect(operator.ready()).toBe(true);
  });
});

// ---- pod security ----

describe('restricted Pod Security Standard', () => {
  const workloads = (file: string): KubeObject[] => {
    const parsed = parseRelay({ ...exampleRelay(file, NS.pss), metadata: { name: 'relay', namespace: NS.pss, uid: 'u', generation: 1 } });
    if (!parsed.ok) throw new Error(`${file} does not parse`);
    const model = relayModel(parsed.relay, { relayImage: testRelayImage });
    return desiredChildren({ model, generated: generatedSecretValues(model, {}, () => 'g'), secretsChecksum: 'c' }).filter((c) => ['Deployment', 'StatefulSet', 'ServiceAccount'].includes(c.kind));
  };

  async function podAdmitted(name: string, podSpec: unknown): Promise<{ code: number; message: string }> {
    try {
      await core.createNamespacedPod({ namespace: NS.pss, dryRun: 'All', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS.pss }, spec: podSpec as never } });
      return { code: 201, message: '' };
    } catch (error) {
      const e = error as { code?: number; body?: unknown };
      return { code: e.code ?? -1, message: typeof e.body === 'string' ? e.body : JSON.stringify(e.body) };
    }
  }

  it('refuses a privileged pod in the enforcing namespace (the check can fail)', async () => {
    const res = await podAdmitted('privileged', { containers: [{ name: 'c', image: 'example.invalid/x', securityContext: { privileged: true } }] });
    expect(res.code).toBe(403);
    expect(res.message).toContain('PodSecurity');
  });

  it.each(examples)('%s: every rendered workload’s pod passes restricted', async (file) => {
    const rendered = workloads(file);
    // The pods run as the rendered ServiceAccounts; admission needs them to exist.
    for (const sa of rendered.filter((c) => c.kind === 'ServiceAccount')) await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa.metadata.name, namespace: NS.pss } });
    const ws = rendered.filter((c) => c.kind !== 'ServiceAccount');
    expect(ws.length).toBeGreaterThan(0);
    for (const w of ws) {
      // A PriorityClass is a cluster prerequisite PSS does not look at; the operator-lifecycle test owns creating it.
      const { priorityClassName: _p, ...template } = (w as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
      const res = await podAdmitted(`${w.metadata.name}-check`.slice(0, 63), template);
      expect(res.code, `${file} ${w.kind}/${w.metadata.name}: ${res.message}`).toBe(201);
    }
  });

  it('the operator’s relay with managed Redis runs in the restricted namespace: pods admitted and Ready', async () => {
    await apply(exampleRelay('managed-redis.yaml', NS.pss));
    await waitFor('the relay Ready under restricted', () => readyRelay(kube, NS.pss), { timeoutMs: 120_000 });
    const pods = await core.listNamespacedPod({ namespace: NS.pss });
    expect(pods.items.length).toBeGreaterThan(0);
  });
});

// ---- secrets never leak ----

describe('secrets in logs, Events and status', () => {
  it('no Secret value (nor its base64) appears in the operator log, any Event, or any relay status', async () => {
    const haystacks: string[] = [logLines.join('\n')];
    for (const namespace of Object.values(NS)) {
      const events = await core.listNamespacedEvent({ namespace });
      haystacks.push(JSON.stringify(events.items.map((e) => ({ reason: e.reason, message: e.message, note: (e as { note?: string }).note }))));
      const relays = (await custom.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: RELAY_PLURAL })) as { items: Relay[] };
      haystacks.push(JSON.stringify(relays.items.map((r) => r.status ?? {})));
    }
    const text = haystacks.join('\n');
    expect(text.length).toBeGreaterThan(1000); // there is something to search
    expect(secretValues.length).toBeGreaterThan(0);
    for (const value of secretValues) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(Buffer.from(value).toString('base64'));
    }
    process.stdout.write(`[reliability] secret scan: ${secretValues.length} values searched in ${logLines.length} log lines, Events and statuses of ${Object.keys(NS).length} namespaces\n`);
  });
});
