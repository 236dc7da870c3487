// Issue 26, items 2, 3 and 4 on the shared control plane: a paused relay keeps
// the generation it last reconciled on every condition (kubectl wait does not
// report a generation never acted on); pods that cannot be created, scheduled
// or pulled, and a missing mTLS Secret, make the relay say why within one
// resync, the pinned StatefulSet included; exposure has its own condition that
// Ready waits for; bad quantities, images and scheduling fields are refused at
// admission, and what the API server cannot decode on a child stalls the relay.
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION, PAUSED_ANNOTATION, RELAY_KIND } from '../../operator/src/api/v1alpha1/group.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import { isBadInput } from '../../operator/src/reconcile/reconciler.js';
import { installCrds, waitFor } from '../controlplane/index.js';
import { join } from 'node:path';
import { INGRESS_ADDRESS, startExposureStandIns } from './exposure-stand-in.js';
import { conditionOf, memoryLogger, readRelay, readyRelay, testOperatorConfig, type Relay } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const kube = new ClientKube(shared.kc);

const NS = {
  pause: 'st-pause',
  createDeploy: 'st-create-deploy',
  createSts: 'st-create-sts',
  unschedulable: 'st-unschedulable',
  pull: 'st-pull',
  mtls: 'st-mtls',
  ingress: 'st-ingress',
  route: 'st-route',
  admission: 'st-admission',
} as const;
/** RESYNC_MS: "within one resync" below means within this, plus a pass. */
const RESYNC_MS = 10_000;
const platform = { validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate', internalKeySecretRef: { name: 'relay-platform', key: 'internal-key' } };
const ingressExposure = { host: 'relay.st.example.com', ingress: { className: 'nginx' } };

const logLines: string[] = [];
let operator: Operator;

function relay(namespace: string, spec: Record<string, unknown>): Relay {
  return { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: RELAY_KIND, metadata: { name: 'relay', namespace }, spec: { platform, ...spec } };
}

async function apply(obj: object): Promise<void> {
  const res = await shared.kubectl(['apply', '--server-side', '--field-manager=e2e-user', '-f', '-'], stringify(obj));
  expect(res.stderr).toBe('');
}

/** conditionReached waits for a condition of the relay in namespace to have status/reason; returns the relay. */
function conditionReached(namespace: string, type: string, status: string, reason: string, timeoutMs = 2 * RESYNC_MS + 15_000): Promise<Relay> {
  return waitFor(`${namespace}: ${type}=${status} ${reason}`, async () => {
    const r = await readRelay(kube, namespace);
    const c = conditionOf(r, type);
    if (c?.status === status && c.reason === reason && r?.status?.observedGeneration === r?.metadata.generation) return r;
    throw new Error(JSON.stringify(r?.status?.conditions));
  }, { timeoutMs });
}

const messageOf = (r: Relay, type: string): string => (conditionOf(r, type) as { message?: string } | undefined)?.message ?? '';

beforeAll(async () => {
  await installCrds(shared, join(import.meta.dirname, 'fixtures/addon-crds'));
  for (const namespace of Object.values(NS)) {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'relay-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });
  }
  operator = createOperator({
    kube,
    // Cluster-wide: one watch per kind rather than one per kind and namespace on a small, shared API server.
    config: { ...testOperatorConfig({ namespaces: [], identity: 'e2e-status', leaderElect: false, leaseNamespace: NS.pause }), resyncMs: RESYNC_MS },
    log: memoryLogger(logLines, 'operator'),
  });
  operator.start();
  await waitFor('the operator to sync', () => (operator.ready() ? true : undefined));
});

afterAll(async () => {
  await operator?.stop();
  for (const name of Object.values(NS)) await core.deleteNamespace({ name });
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

describe('pause (issue 26 item 4)', () => {
  it('keeps the last reconciled generation on every condition, so kubectl wait does not report a generation never reconciled', async () => {
    await apply(relay(NS.pause, {}));
    await waitFor('Ready at generation 1', () => readyRelay(kube, NS.pause, 1), { timeoutMs: 90_000 });
    expect((await shared.kubectl(['annotate', '-n', NS.pause, 'vrelay/relay', `${PAUSED_ANNOTATION}=true`])).code).toBe(0);
    await waitFor('status.paused', async () => ((await readRelay(kube, NS.pause))?.status?.paused === true ? true : undefined));
    const patched = await shared.kubectl(['patch', '-n', NS.pause, 'vrelay/relay', '--type=merge', '-p', JSON.stringify({ spec: { relayMode: 'staging' } })]);
    expect(patched.stderr).toBe('');
    // The change's own watch event, and a pass of our own: the operator has seen generation 2 while paused.
    expect(await operator.reconcile(`${NS.pause}/relay`)).toMatchObject({ result: 'done', reason: 'Paused' });
    const paused = (await readRelay(kube, NS.pause)) as Relay;
    expect(paused.metadata.generation).toBe(2);
    expect(paused.status?.observedGeneration).toBe(1);
    for (const c of paused.status?.conditions ?? []) expect(c, c.type).toMatchObject({ observedGeneration: 1 });
    expect(conditionOf(paused, 'Ready')).toMatchObject({ status: 'True', reason: 'Paused' });
    const wait = await shared.kubectl(['wait', '-n', NS.pause, 'vrelay/relay', '--for=condition=Ready', '--timeout=3s']);
    expect(wait.code, wait.stdout).not.toBe(0);

    expect((await shared.kubectl(['annotate', '-n', NS.pause, 'vrelay/relay', `${PAUSED_ANNOTATION}-`])).code).toBe(0);
    await waitFor('Ready at generation 2 after resuming', () => readyRelay(kube, NS.pause, 2), { timeoutMs: 60_000 });
    const resumed = await shared.kubectl(['wait', '-n', NS.pause, 'vrelay/relay', '--for=condition=Ready', '--timeout=10s']);
    expect(resumed.code, resumed.stderr).toBe(0);
  });
});

describe('why pods do not come up (issue 26 item 2)', () => {
  it('a Deployment that cannot create pods (missing PriorityClass) stalls with the API server’s reason', async () => {
    await apply(relay(NS.createDeploy, { pod: { priorityClassName: 'no-such-priority' } }));
    const r = await conditionReached(NS.createDeploy, 'Stalled', 'True', 'FailedCreate');
    expect(messageOf(r, 'Stalled')).toContain('no-such-priority');
    expect(conditionOf(r, 'Ready')).toMatchObject({ status: 'False', reason: 'FailedCreate' });
  });

  it('the pinned StatefulSet reaches a stalled state too (its controller only records Events)', async () => {
    await apply(
      relay(NS.createSts, {
        replicas: 2,
        backplane: { mode: 'server' },
        routing: { mode: 'pinned', podHostPattern: '{pod}.st.example.com' },
        exposure: ingressExposure,
        pod: { priorityClassName: 'no-such-priority' },
      }),
    );
    const r = await conditionReached(NS.createSts, 'Stalled', 'True', 'FailedCreate');
    expect(messageOf(r, 'Stalled')).toContain('no-such-priority');
    expect(messageOf(r, 'Stalled')).toContain('StatefulSet relay');
  });

  it('an unschedulable pod is named with the scheduler’s message', async () => {
    await apply(relay(NS.unschedulable, { pod: { nodeSelector: { 'example.com/no-such-pool': 'x' } } }));
    const r = await conditionReached(NS.unschedulable, 'Reconciling', 'True', 'Unschedulable');
    expect(conditionOf(r, 'Ready')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(messageOf(r, 'Ready')).toMatch(/pod relay-.*node/);
  });

  it('an image pull back-off reported by the kubelet shows as ImagePullFailed', async () => {
    await apply(relay(NS.pull, {}));
    await waitFor('Ready', () => readyRelay(kube, NS.pull, 1), { timeoutMs: 90_000 });
    const pod = (await core.listNamespacedPod({ namespace: NS.pull, labelSelector: 'app.kubernetes.io/component=relay' })).items[0];
    const name = pod?.metadata?.name as string;
    // Stand in for the kubelet (kwok makes every pod Ready): the image can no longer be pulled.
    const status = {
      status: {
        conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady' }],
        containerStatuses: [{ name: 'relay', image: 'example.invalid/viewport-relay:e2e', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.invalid/viewport-relay:e2e"' } } }],
      },
    };
    const patched = await shared.kubectl(['patch', 'pod', name, '-n', NS.pull, '--subresource=status', '--type=strategic', '-p', JSON.stringify(status)]);
    expect(patched.stderr).toBe('');
    const r = await conditionReached(NS.pull, 'Ready', 'False', 'ImagePullFailed');
    expect(messageOf(r, 'Ready')).toContain(`pod ${name}: container relay: ImagePullBackOff`);
  });

  it('a missing mTLS Secret stalls the relay, naming only the reference; creating it makes the relay Ready', async () => {
    await apply(relay(NS.mtls, { backplane: { mode: 'server' }, platform: { ...platform, authMode: 'mtls', mtlsSecretName: 'relay-client-tls' } }));
    const r = await conditionReached(NS.mtls, 'Stalled', 'True', 'SecretNotFound');
    expect(messageOf(r, 'Stalled')).toBe('missing Secret keys: relay-client-tls/tls.crt, relay-client-tls/tls.key');
    await core.createNamespacedSecret({ namespace: NS.mtls, body: { metadata: { name: 'relay-client-tls' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'cert', 'tls.key': 'key' } } });
    await waitFor('Ready once the Secret exists', () => readyRelay(kube, NS.mtls, 1), { timeoutMs: 60_000 });
  });
});

describe('exposure (issue 26 item 2)', () => {
  it('Ready waits for the Ingress to get an address; Exposed says which', async () => {
    await apply(relay(NS.ingress, { exposure: ingressExposure }));
    // The pods come up (kwok), but nothing serves the ingress class: Ready waits, and says for what.
    const pending = await conditionReached(NS.ingress, 'Ready', 'False', 'ExposurePending', 90_000);
    expect(conditionOf(pending, 'Exposed')).toMatchObject({ status: 'False', reason: 'ExposurePending' });
    expect(messageOf(pending, 'Exposed')).toContain('class nginx');
    const standIns = startExposureStandIns(shared.kc, [NS.ingress]);
    try {
      const ready = await waitFor('Ready with an address', () => readyRelay(kube, NS.ingress, 1), { timeoutMs: 30_000 });
      expect(conditionOf(ready, 'Exposed')).toMatchObject({ status: 'True', reason: 'Exposed' });
      expect(messageOf(ready, 'Exposed')).toContain(INGRESS_ADDRESS);
    } finally {
      await standIns.stop();
    }
  });

  it('a route the Gateway refuses stalls; accepted with a ready Certificate it is Ready', async () => {
    await apply(
      relay(NS.route, {
        exposure: { host: 'relay.st.example.com', tls: { issuerRef: { name: 'letsencrypt' } }, httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system' }] } },
      }),
    );
    await conditionReached(NS.route, 'Exposed', 'False', 'ExposurePending');
    const condition = (type: string, status: string, reason: string) => ({ type, status, reason, message: `${type} ${status}`, lastTransitionTime: '2026-01-01T00:00:00Z' });
    const routeStatus = (accepted: string, reason: string) => ({
      status: { parents: [{ parentRef: { name: 'public', namespace: 'gateway-system' }, controllerName: 'example.com/gw', conditions: [condition('Accepted', accepted, reason), condition('ResolvedRefs', 'True', 'ResolvedRefs')] }] },
    });
    const patchRoute = (body: unknown) => shared.kubectl(['patch', 'httproutes.gateway.networking.k8s.io', 'relay', '-n', NS.route, '--type=merge', '-p', JSON.stringify(body)]);
    expect((await patchRoute(routeStatus('False', 'NotAllowedByListeners'))).stderr).toBe('');
    const refused = await conditionReached(NS.route, 'Stalled', 'True', 'ExposureRejected');
    expect(messageOf(refused, 'Stalled')).toContain('Accepted False: NotAllowedByListeners');

    expect((await patchRoute(routeStatus('True', 'Accepted'))).stderr).toBe('');
    const waitingForCert = await conditionReached(NS.route, 'Exposed', 'False', 'ExposurePending');
    expect(messageOf(waitingForCert, 'Exposed')).toContain('Certificate relay');
    const cert = await shared.kubectl(['patch', 'certificates.cert-manager.io', 'relay', '-n', NS.route, '--type=merge', '-p', JSON.stringify({ status: { conditions: [condition('Ready', 'True', 'Ready')] } })]);
    expect(cert.stderr).toBe('');
    const ready = await waitFor('Ready once accepted and issued', () => readyRelay(kube, NS.route, 1), { timeoutMs: 30_000 });
    expect(conditionOf(ready, 'Exposed')).toMatchObject({ status: 'True', reason: 'Exposed' });
  });
});

describe('admission (issue 26 item 3)', () => {
  it.each([
    ['cpu: banana', { resources: { limits: { cpu: 'banana' } } }, 'spec.resources.limits.cpu'],
    ['a negative memory request', { resources: { requests: { memory: '-1Gi' } } }, 'spec.resources.requests.memory'],
    ['an image reference with a space', { image: 'ghcr.io/viewport/relay :1' }, 'spec.image'],
    ['an upper-case managed Redis image', { backplane: { mode: 'redis', redis: { managed: { image: 'Valkey/Valkey:8' } } } }, 'spec.backplane.redis.managed.image'],
    ['a toleration with an unknown effect', { pod: { tolerations: [{ key: 'k', operator: 'Exists', effect: 'Sometimes' }] } }, 'spec.pod.tolerations[0].effect'],
    ['pod affinity without a topology key', { pod: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] } } } }, 'topologyKey'],
  ])('refuses %s, naming the field', async (_name, spec, field) => {
    const res = await shared.kubectl(['apply', '--server-side', '--field-manager=e2e-user', '-f', '-'], stringify(relay(NS.admission, spec)));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(field);
  });

  it('a child the API server cannot decode (a 500 on an unparsable quantity) is classified as bad input, not retried as transient', async () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'undecodable', namespace: NS.admission },
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'example.invalid/x:1', resources: { limits: { cpu: 'banana' } } }] } },
      },
    };
    const res = await kube.apply(deployment);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    process.stdout.write(`[status] the API server answered an unparsable quantity with ${res.error.status} ${res.error.reason}: ${res.error.message.slice(0, 200)}\n`);
    expect(res.error.status === 422 || isBadInput(res.error)).toBe(true);
  });
});
