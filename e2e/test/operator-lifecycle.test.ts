// The operator against the shared control plane (controller-manager, scheduler,
// kwok), running as the Helm chart's ServiceAccount with exactly the chart's
// RBAC: every example converges to Ready with owned children, a second pass
// writes nothing, drift is reverted, Secret changes roll pods, the HPA owns
// replicas, pause freezes, deletion garbage-collects, and no call is forbidden.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_GROUP, API_VERSION, FIELD_MANAGER, PAUSED_ANNOTATION, RELAY_PLURAL } from '../../operator/src/api/v1alpha1/group.js';
import { parseRelay } from '../../operator/src/api/v1alpha1/relay.js';
import { CHILD_KINDS } from '../../operator/src/kinds.js';
import { desiredChildren } from '../../operator/src/desired/index.js';
import { relayModel } from '../../operator/src/desired/model.js';
import { generatedSecretValues } from '../../operator/src/desired/secret.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { ownsReplicas } from '../../operator/src/reconcile/apply.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import type { KubeObject } from '../../operator/src/object.js';
import { installCrds, kubeConfigForServiceAccount, waitFor } from '../controlplane/index.js';
import { chartIdentity, chartRbac, conditionOf, memoryLogger, readRelay, readyRelay, testOperatorConfig, testRelayImage, type Relay } from './operator-harness.js';
import { startExposureStandIns } from './exposure-stand-in.js';
import { countByVerb, recordingKube, resourceOf, WRITE_VERBS, type RecordingKube } from './recording-kube.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const apps = shared.kc.makeApiClient(AppsV1Api);
const custom = shared.kc.makeApiClient(CustomObjectsApi);
const admin = new ClientKube(shared.kc);

const repo = resolve(import.meta.dirname, '../..');
const examplesDir = join(repo, 'examples');
const operatorNamespace = 'vr-system';
const release = 'op';
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();
const namespaceOf = (file: string): string => `ex-${basename(file, '.yaml')}`;

/** expectedChildren is what the operator's pure builders say a relay owns. */
function expectedChildren(raw: Relay): KubeObject[] {
  const parsed = parseRelay(raw);
  if (!parsed.ok) throw new Error(`example does not parse: ${JSON.stringify(parsed.problems)}`);
  const model = relayModel(parsed.relay, { relayImage: testRelayImage });
  return desiredChildren({ model, generated: generatedSecretValues(model, {}, () => 'unused'), secretsChecksum: 'unused' });
}

async function getChild(ref: KubeObject): Promise<KubeObject | undefined> {
  const res = await admin.get({ apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.metadata.namespace, name: ref.metadata.name });
  if (!res.ok) throw new Error(`${ref.kind} ${ref.metadata.name}: ${res.error.message}`);
  return res.value;
}

async function resourceVersions(children: KubeObject[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const c of children) out[`${c.kind}/${c.metadata.name}`] = (await getChild(c))?.metadata.resourceVersion;
  return out;
}

function workloadOf(children: KubeObject[]): KubeObject {
  const w = children.find((c) => c.kind === 'Deployment' && c.metadata.labels?.['app.kubernetes.io/component'] === 'relay');
  if (!w) throw new Error('no relay Deployment among the children');
  return w;
}

// Secrets the examples reference. Values are fake but well-formed.
function secretsFor(namespace: string): { name: string; data: Record<string, string> }[] {
  return [
    { name: 'relay-platform', data: { 'internal-key': 'k'.repeat(32) } },
    { name: 'relay-admin', data: { token: 't'.repeat(32) } },
    { name: 'relay-redis', data: { url: `rediss://:secret@redis.${namespace}.example.com:6380/0` } },
    { name: 'relay-bus', data: { 'hmac-key': 'h'.repeat(32) } },
    { name: 'relay-platform-client', data: { 'tls.crt': 'cert', 'tls.key': 'key', 'ca.crt': 'ca' } },
  ];
}

// Grants the chart ships that no call in this lifecycle needed. The role is
// least-privilege: the test fails when the role and this list disagree.
const knownUnusedGrants: string[] = [];

const logLines: string[] = [];
const log = memoryLogger(logLines, 'lifecycle');

let operator: Operator;
let standIns: { stop(): Promise<void> } | undefined;
let recorded: RecordingKube;
let rbacObjects: KubeObject[];

beforeAll(async () => {
  await installCrds(shared, join(import.meta.dirname, 'fixtures/addon-crds'));
  await core.createNamespace({ body: { metadata: { name: operatorNamespace } } });
  // external-redis-tls.yaml schedules its pods with this PriorityClass, a cluster prerequisite (applied as users do).
  const priority = await shared.kubectl(['apply', '--server-side', '-f', join(examplesDir, 'prerequisites')]);
  expect(priority.stderr).toBe('');
  rbacObjects = chartRbac(inject('toolchain').helm, release, operatorNamespace);
  const applied = await shared.kubectl(['apply', '--server-side', '-f', '-'], rbacObjects.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');

  for (const file of examples) {
    const namespace = namespaceOf(file);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    for (const s of secretsFor(namespace)) {
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: s.name }, stringData: s.data } });
    }
  }

  const { serviceAccount, leaseName } = chartIdentity(rbacObjects);
  const kc = await kubeConfigForServiceAccount(shared.kc, operatorNamespace, serviceAccount);
  recorded = recordingKube(new ClientKube(kc));
  const config = {
    ...testOperatorConfig({ namespaces: examples.map(namespaceOf), identity: 'e2e-lifecycle', leaderElect: true, leaseNamespace: operatorNamespace }),
    leaseName,
  };
  operator = createOperator({ kube: recorded.kube, config, log });
  operator.start();
  // The tier runs no ingress controller, gateway or cert-manager: stand-ins publish what they would.
  standIns = startExposureStandIns(shared.kc, examples.map(namespaceOf));
  await waitFor('the operator to lead and sync', () => (operator.isLeader() && operator.ready() ? true : undefined));
});

afterAll(async () => {
  await standIns?.stop();
  await operator?.stop();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

describe('operator lifecycle with the chart RBAC', () => {
  it.each(examples)('%s: becomes Ready with every child owned by the relay', async (file) => {
    const namespace = namespaceOf(file);
    const doc = parse(readFileSync(join(examplesDir, file), 'utf8')) as Relay;
    // Each example has its own name (they all apply into one namespace); here each gets its own namespace.
    doc.metadata = { ...doc.metadata, name: 'relay', namespace };
    const applied = await shared.kubectl(['apply', '-f', '-'], stringify(doc));
    expect(applied.stderr).toBe('');

    const relay = await waitFor(`${file} Ready=True at its generation`, () => readyRelay(admin, namespace), { timeoutMs: 90_000 });
    expect(conditionOf(relay, 'Stalled')?.status).toBe('False');
    expect(conditionOf(relay, 'Reconciling')?.status).toBe('False');

    for (const want of expectedChildren(relay as Relay)) {
      const got = await getChild(want);
      expect(got, `${want.kind} ${want.metadata.name}`).toBeDefined();
      expect(got?.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'ViewportRelay', name: 'relay', uid: relay?.metadata.uid, controller: true }),
      ]);
      // Children never inherit the CR's labels or annotations (GitOps tracking).
      expect(got?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeUndefined();
    }
  });

  it('a second reconcile makes no write request and changes no resourceVersion', async () => {
    const namespace = namespaceOf('minimal-single.yaml');
    const relay = (await readRelay(admin, namespace)) as Relay;
    const children = expectedChildren(relay);
    const before = { ...(await resourceVersions(children)), relay: relay.metadata.resourceVersion };
    const start = recorded.calls.length;
    expect(await operator.reconcile(`${namespace}/relay`)).toMatchObject({ result: 'done' });
    // A no-op server-side apply would leave resourceVersions alone too: count the requests themselves.
    const calls = recorded.calls.slice(start).filter((c) => c.namespace === namespace);
    expect(calls.filter((c) => WRITE_VERBS.has(c.verb))).toEqual([]);
    expect(countByVerb(calls).get).toBeGreaterThanOrEqual(1);
    expect(countByVerb(calls).list).toBe(CHILD_KINDS.length);
    const after = { ...(await resourceVersions(children)), relay: (await readRelay(admin, namespace))?.metadata.resourceVersion };
    expect(after).toEqual(before);
  });

  it('reverts a deleted Service and an edited image', async () => {
    const namespace = namespaceOf('minimal-single.yaml');
    const children = expectedChildren((await readRelay(admin, namespace)) as Relay);
    const service = children.find((c) => c.kind === 'Service' && c.metadata.labels?.['app.kubernetes.io/component'] === 'relay');
    if (!service) throw new Error('no relay Service');
    const oldUid = (await getChild(service))?.metadata.uid;
    await core.deleteNamespacedService({ namespace, name: service.metadata.name });
    await waitFor('the Service to be re-created', async () => {
      const uid = (await getChild(service))?.metadata.uid;
      return uid !== undefined && uid !== oldUid ? true : undefined;
    });

    const workload = workloadOf(children);
    const container = (await apps.readNamespacedDeployment({ namespace, name: workload.metadata.name })).spec?.template.spec?.containers[0]?.name;
    const edit = await shared.kubectl(['set', 'image', '-n', namespace, `deployment/${workload.metadata.name}`, `${container}=example.invalid/evil:1`]);
    expect(edit.code).toBe(0);
    await waitFor('the image to be reverted', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: workload.metadata.name });
      return d.spec?.template.spec?.containers[0]?.image === testRelayImage ? true : undefined;
    });
  });

  it('rolls the pods when a referenced Secret changes', async () => {
    const namespace = namespaceOf('minimal-single.yaml');
    const name = workloadOf(expectedChildren((await readRelay(admin, namespace)) as Relay)).metadata.name;
    const before = await apps.readNamespacedDeployment({ namespace, name });
    await core.patchNamespacedSecret({
      namespace,
      name: 'relay-platform',
      body: [{ op: 'replace', path: '/data/internal-key', value: Buffer.from('n'.repeat(32)).toString('base64') }],
    });
    const rolled = await waitFor('a new pod template', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name });
      return (d.metadata?.generation ?? 0) > (before.metadata?.generation ?? 0) ? d : undefined;
    });
    expect(rolled.spec?.template.metadata?.annotations).not.toEqual(before.spec?.template.metadata?.annotations);
    await waitFor('the rollout to finish on kwok', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name });
      const s = d.status;
      return s?.observedGeneration === d.metadata?.generation && s?.updatedReplicas === 1 && s?.readyReplicas === 1 && s?.replicas === 1
        ? true
        : undefined;
    });
  });

  it('notices a revoked and a restored referenced Secret by itself (Secret watch, no resync)', async () => {
    const namespace = namespaceOf('gateway-api.yaml');
    await waitFor('Ready before the revocation', () => readyRelay(admin, namespace));
    const platform = secretsFor(namespace).find((s) => s.name === 'relay-platform');
    if (!platform) throw new Error('no platform Secret fixture');
    await core.deleteNamespacedSecret({ namespace, name: platform.name });
    // Resync is 10 minutes here: only a Secret event can bring this within the deadline.
    const stalled = await waitFor(
      'SecretNotFound after the revocation',
      async () => {
        const r = await readRelay(admin, namespace);
        return conditionOf(r, 'Ready')?.reason === 'SecretNotFound' && conditionOf(r, 'Stalled')?.status === 'True' ? r : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(JSON.stringify(stalled.status)).not.toContain(platform.data['internal-key']);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: platform.name }, stringData: platform.data } });
    await waitFor('Ready again once the Secret is back', () => readyRelay(admin, namespace), { timeoutMs: 20_000 });
  });

  it('leaves replicas to the HorizontalPodAutoscaler', async () => {
    const namespace = namespaceOf('managed-redis.yaml');
    const children = expectedChildren((await readRelay(admin, namespace)) as Relay);
    const name = workloadOf(children).metadata.name;
    const hpa = children.find((c) => c.kind === 'HorizontalPodAutoscaler');
    expect((await getChild(hpa as KubeObject)) as unknown).toMatchObject({ spec: { scaleTargetRef: { kind: 'Deployment', name } } });

    const ownsReplicas = (d: V1Deployment): boolean =>
      (d.metadata?.managedFields ?? []).some(
        (m) => m.manager === FIELD_MANAGER && (m.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec']?.['f:replicas'] !== undefined,
      );
    expect(ownsReplicas(await apps.readNamespacedDeployment({ namespace, name }))).toBe(false);

    // Stand in for the HPA controller (no metrics server here) and scale.
    const scaled = await shared.kubectl(['scale', '-n', namespace, `deployment/${name}`, '--replicas=5']);
    expect(scaled.code).toBe(0);
    expect(await operator.reconcile(`${namespace}/relay`)).toMatchObject({ result: 'done' });
    expect((await apps.readNamespacedDeployment({ namespace, name })).spec?.replicas).toBe(5);
  });

  it('stops changing a paused relay and reports it', async () => {
    const namespace = namespaceOf('server-backplane.yaml');
    const children = expectedChildren((await readRelay(admin, namespace)) as Relay);
    const service = children.find((c) => c.kind === 'Service' && c.metadata.labels?.['app.kubernetes.io/component'] === 'relay');
    if (!service) throw new Error('no relay Service');

    const annotate = await shared.kubectl(['annotate', '-n', namespace, 'vrelay/relay', `${PAUSED_ANNOTATION}=true`]);
    expect(annotate.code).toBe(0);
    await waitFor('status.paused', async () => ((await readRelay(admin, namespace))?.status?.paused === true ? true : undefined));
    await core.deleteNamespacedService({ namespace, name: service.metadata.name });
    expect(await operator.reconcile(`${namespace}/relay`)).toMatchObject({ result: 'done' });
    expect(await getChild(service)).toBeUndefined();

    const resume = await shared.kubectl(['annotate', '-n', namespace, 'vrelay/relay', `${PAUSED_ANNOTATION}-`]);
    expect(resume.code).toBe(0);
    await waitFor('the Service back after resuming', async () => ((await getChild(service)) ? true : undefined));
    await waitFor('Ready again, not paused', () => readyRelay(admin, namespace));
  });

  it('prunes a child the spec no longer asks for', async () => {
    const namespace = namespaceOf('external-redis-tls.yaml');
    const before = expectedChildren((await readRelay(admin, namespace)) as Relay);
    const ingress = before.find((c) => c.kind === 'Ingress');
    expect(ingress && (await getChild(ingress))).toBeDefined();
    const patched = await shared.kubectl(['patch', '-n', namespace, 'vrelay/relay', '--type=json', '-p', '[{"op":"remove","path":"/spec/exposure/ingress"}]']);
    expect(patched.stderr).toBe('');
    await waitFor('the Ingress to be pruned', async () => ((await getChild(ingress as KubeObject)) === undefined ? true : undefined));
    const relay = await waitFor('Ready at the new generation', () => readyRelay(admin, namespace));
    expect(relay.metadata.generation).toBe(2);
  });

  // Were the operator to stop sending replicas while it is the field's only
  // manager, the API server would reset the Deployment to 1 replica (dropping
  // connections) until the HPA raised it again. The operator first co-owns the
  // live value under a hand-off manager, then lets go.
  it('hands replicas to a newly enabled autoscaler without a dip', async () => {
    const namespace = namespaceOf('external-redis-tls.yaml');
    const name = workloadOf(expectedChildren((await readRelay(admin, namespace)) as Relay)).metadata.name;
    const before = await apps.readNamespacedDeployment({ namespace, name });
    expect(before.spec?.replicas).toBe(3);
    const generation = (await readRelay(admin, namespace))?.metadata.generation ?? 0;

    const patched = await shared.kubectl([
      'patch', '-n', namespace, 'vrelay/relay', '--type=json', '-p',
      JSON.stringify([
        { op: 'remove', path: '/spec/replicas' },
        { op: 'add', path: '/spec/autoscaling', value: { minReplicas: 3, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } },
      ]),
    ]);
    expect(patched.stderr).toBe('');
    await waitFor('Ready with autoscaling', () => readyRelay(admin, namespace, generation + 1));
    const hpa = expectedChildren((await readRelay(admin, namespace)) as Relay).find((c) => c.kind === 'HorizontalPodAutoscaler');
    expect(hpa && (await getChild(hpa))).toBeDefined();

    // Had the operator's apply dropped replicas while it still owned the field,
    // the API server would have reset it to 1 (and the HPA raised it again).
    // Exactly one change is allowed: the operator's apply, whose new spec-hash
    // annotation counts as a change for a Deployment; the spec is unchanged.
    const after = await apps.readNamespacedDeployment({ namespace, name });
    expect(after.spec?.replicas).toBe(3);
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 1);
    expect(after.spec).toEqual(before.spec);
    // The operator has let go of the field: the HPA's changes will stand.
    const workload = await getChild(workloadOf(expectedChildren((await readRelay(admin, namespace)) as Relay)));
    expect(workload && ownsReplicas(workload)).toBe(false);
  });

  it('garbage-collects every child when the relay is deleted', async () => {
    const namespace = namespaceOf('pinned-redirect.yaml');
    const children = expectedChildren((await readRelay(admin, namespace)) as Relay);
    await custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: RELAY_PLURAL, name: 'relay' });
    await waitFor('every child gone', async () => {
      for (const c of children) if (await getChild(c)) return undefined;
      return true;
    }, { timeoutMs: 90_000 });
    await waitFor('pods gone', async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined));
  });

  it('was never forbidden, and the chart grants nothing it did not use', () => {
    expect(recorded.errors.filter((e) => e.error.status === 403)).toEqual([]);

    // Children share one code path per verb, so a verb exercised on one child
    // kind justifies it on all of them; everything else must match exactly.
    const childResources = new Set(CHILD_KINDS.map((k) => resourceOf(k.apiVersion, k.kind)));
    const normalise = (entry: string): string => {
      const [resource = '', verb = ''] = entry.split(':');
      return childResources.has(resource) ? `<child>:${verb}` : entry;
    };
    const granted = new Set<string>();
    for (const o of rbacObjects) {
      if (o.kind !== 'ClusterRole' && o.kind !== 'Role') continue;
      // Roles aggregated into admin, edit and view are for tenants: nothing binds them to the operator.
      if (Object.keys(o.metadata.labels ?? {}).some((l) => l.startsWith('rbac.authorization.k8s.io/aggregate-to-'))) continue;
      for (const rule of (o as { rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] }).rules ?? []) {
        for (const g of rule.apiGroups ?? []) for (const r of rule.resources ?? []) for (const v of rule.verbs ?? []) granted.add(normalise(`${g}/${r}:${v}`));
      }
    }
    // blockOwnerDeletion is authorized as update on the owner's finalizers
    // (OwnerReferencesPermissionEnforcement); the operator never calls it itself.
    const used = new Set([...recorded.used, `${API_GROUP}/${RELAY_PLURAL}/finalizers:update`].map(normalise));
    expect([...used].filter((u) => !granted.has(u)).sort()).toEqual([]);
    expect([...granted].filter((g) => !used.has(g)).sort()).toEqual(knownUnusedGrants);
  });
});
