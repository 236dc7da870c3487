// The operator's trust boundaries on the real API-server tier (issues 23.5,
// 23.6, 22.3; docs/security.md): the operator runs as the Helm chart's
// ServiceAccount with exactly the chart's RBAC. A relay that says nothing
// about network policy gets both NetworkPolicies; the managed Redis is bounded
// below its memory limit without eviction, and a real redis-server started
// with the rendered arguments refuses writes past the bound; Secrets the
// operator neither owns nor is pointed at never reach it; and its ServiceAccount
// is denied what it does not use (impersonated `kubectl auth can-i`, answered
// by the API server's own authorizer).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeAdapter } from '../../operator/src/kube/adapter.js';
import { ClientKube } from '../../operator/src/kube/client.js';
import { createOperator, type Operator } from '../../operator/src/main.js';
import type { KubeObject } from '../../operator/src/object.js';
import { freePort } from '../../relay/test/redis-server.js';
import { kubeConfigForServiceAccount, waitFor } from '../controlplane/index.js';
import { chartIdentity, chartRbac, memoryLogger, readyRelay, testOperatorConfig } from './operator-harness.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const admin = new ClientKube(shared.kc);

const operatorNamespace = 'sec-system';
const release = 'sec';
const npNamespace = 'sec-defaults';
const secretsNamespace = 'sec-secrets';
const UNRELATED_SECRETS = 200;

const logLines: string[] = [];
let operator: Operator | undefined;
let serviceAccount = '';
/** Secret names the operator's watches delivered, in order. */
const secretEvents: string[] = [];

/** countingSecretWatches wraps a KubeAdapter so every Secret a watch delivers is recorded. */
function countingSecretWatches(inner: KubeAdapter): KubeAdapter {
  return {
    get: (ref) => inner.get(ref),
    list: (apiVersion, kind, opts) => inner.list(apiVersion, kind, opts),
    apply: (obj, fieldManager) => inner.apply(obj, fieldManager),
    applyStatus: (obj) => inner.applyStatus(obj),
    create: (obj) => inner.create(obj),
    replace: (obj) => inner.replace(obj),
    delete: (ref, uid) => inner.delete(ref, uid),
    watch: (apiVersion, kind, opts, cb) =>
      inner.watch(apiVersion, kind, opts, {
        ...cb,
        onEvent: (e) => {
          if (kind === 'Secret') secretEvents.push(`${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`);
          cb.onEvent(e);
        },
      }),
  };
}

function relay(namespace: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'relay.getviewport.com/v1alpha1',
    kind: 'ViewportRelay',
    metadata: { name: 'relay', namespace },
    spec: {
      platform: {
        validateUrl: 'https://api.example.com/api/runtime/internal/relay/validate',
        internalKeySecretRef: { name: 'viewport-platform', key: 'internal-key' },
      },
      ...spec,
    },
  });
}

async function child(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  const res = await admin.get({ apiVersion, kind, namespace, name });
  if (!res.ok) throw new Error(res.error.message);
  return res.value;
}

beforeAll(async () => {
  const rbac = chartRbac(inject('toolchain').helm, release, operatorNamespace);
  await core.createNamespace({ body: { metadata: { name: operatorNamespace } } });
  const applied = await shared.kubectl(['apply', '--server-side', '-f', '-'], rbac.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  for (const namespace of [npNamespace, secretsNamespace]) {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'viewport-platform' }, stringData: { 'internal-key': 'k'.repeat(32) } } });
  }
  const identity = chartIdentity(rbac);
  serviceAccount = identity.serviceAccount;
  const kc = await kubeConfigForServiceAccount(shared.kc, operatorNamespace, serviceAccount);
  operator = createOperator({
    kube: countingSecretWatches(new ClientKube(kc)),
    config: testOperatorConfig({ namespaces: [], identity: 'e2e-security', leaderElect: false, leaseNamespace: operatorNamespace }),
    log: memoryLogger(logLines, 'security'),
  });
  operator.start();
  await waitFor('the operator to sync', () => (operator?.ready() ? true : undefined));
});

afterAll(async () => {
  await operator?.stop();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`operator log:\n${logLines.slice(-60).join('\n')}\n`);
});

describe('safe defaults', () => {
  it('a relay that says nothing about network policy gets both NetworkPolicies: peer port and Redis from its own relay pods only', async () => {
    const applied = await shared.kubectl(['apply', '-f', '-'], relay(npNamespace, {
      replicas: 2,
      backplane: { mode: 'redis', redis: { managed: { resources: { limits: { memory: '16Mi' } } } } },
    }));
    expect(applied.stderr).toBe('');
    await waitFor('Ready', () => readyRelay(admin, npNamespace), { timeoutMs: 90_000 });
    const own = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'viewport-relay', 'app.kubernetes.io/instance': 'relay', 'app.kubernetes.io/component': 'relay' } } };
    const np = await child('networking.k8s.io/v1', 'NetworkPolicy', npNamespace, 'relay');
    expect(np?.spec).toEqual({
      podSelector: own.podSelector,
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 7781 }] },
        { from: [own], ports: [{ protocol: 'TCP', port: 8091 }] },
      ],
    });
    const redisNp = await child('networking.k8s.io/v1', 'NetworkPolicy', npNamespace, 'relay-redis');
    expect((redisNp?.spec as { ingress: unknown }).ingress).toEqual([{ from: [own], ports: [{ protocol: 'TCP', port: 6379 }] }]);
  });

  it('managed Redis: maxmemory below its memory limit with noeviction; redis-server with the rendered args refuses writes past it', async () => {
    const deployment = await child('apps/v1', 'Deployment', npNamespace, 'relay-redis');
    const container = (deployment?.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0];
    const args = container?.args ?? [];
    // 3/4 of the 16Mi limit.
    expect(args.slice(args.indexOf('--maxmemory-policy'))).toEqual(['--maxmemory-policy', 'noeviction', '--maxmemory', String(12 * 2 ** 20)]);

    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'viewport-maxmemory-'));
    const password = 'p'.repeat(32);
    const server = spawn('redis-server', [...args.map((a) => a.replace('$(REDIS_PASSWORD)', password)), '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], {
      stdio: 'ignore',
    });
    try {
      const replies = await redisWrites(port, password, 40, 512 * 1024);
      const oom = replies.findIndex((r) => r.startsWith('-OOM'));
      // 12 MiB holds about 23 values of 512 KiB: the first ones are stored, then every write is refused, none evicted.
      expect(oom, replies.join(' | ')).toBeGreaterThan(10);
      expect(oom).toBeLessThan(26);
      expect(replies.slice(0, oom).every((r) => r === '+OK')).toBe(true);
      expect(replies.slice(oom).every((r) => r.startsWith('-OOM'))).toBe(true);
      expect(replies.at(-1)).toContain("used memory > 'maxmemory'");
    } finally {
      server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** redisWrites authenticates and SETs `count` values of `bytes` each, returning each SET's reply line. */
async function redisWrites(port: number, password: string, count: number, bytes: number): Promise<string[]> {
  const socket = await waitFor('redis-server to accept connections', () =>
    new Promise<ReturnType<typeof createConnection> | undefined>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port });
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    }),
  );
  const command = (...parts: string[]): string => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  let buffered = '';
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let at: number;
    while ((at = buffered.indexOf('\r\n')) >= 0) {
      lines.push(buffered.slice(0, at));
      buffered = buffered.slice(at + 2);
    }
    for (const w of waiters.splice(0)) w();
  });
  const reply = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return lines.shift() as string;
  };
  try {
    socket.write(command('AUTH', password));
    expect(await reply()).toBe('+OK');
    const out: string[] = [];
    const value = 'v'.repeat(bytes);
    for (let i = 0; i < count; i++) {
      socket.write(command('SET', `key-${i}`, value));
      out.push(await reply());
    }
    return out;
  } finally {
    socket.destroy();
  }
}

describe('Secrets the operator neither owns nor is pointed at', () => {
  it(`are never delivered to its watches: ${UNRELATED_SECRETS} unrelated Secrets beside a relay, none reaches the operator`, async () => {
    const applied = await shared.kubectl(['apply', '-f', '-'], relay(secretsNamespace, {}));
    expect(applied.stderr).toBe('');
    await waitFor('Ready', () => readyRelay(admin, secretsNamespace), { timeoutMs: 90_000 });
    const before = secretEvents.length;
    const blob = 'x'.repeat(4096);
    for (let i = 0; i < UNRELATED_SECRETS; i++) {
      await core.createNamespacedSecret({ namespace: secretsNamespace, body: { metadata: { name: `unrelated-${i}` }, stringData: { blob } } });
    }
    // A marker the operator must see, written after the others. An unfiltered
    // Secret watch (what the operator had before) carries every Secret on one
    // stream in order, so once the marker arrived the unrelated ones would have too.
    await core.patchNamespacedSecret({
      namespace: secretsNamespace,
      name: 'viewport-platform',
      body: [{ op: 'replace', path: '/data/internal-key', value: Buffer.from('m'.repeat(32)).toString('base64') }],
    });
    await waitFor('the referenced Secret change to reach the operator', () =>
      secretEvents.slice(before).includes(`${secretsNamespace}/viewport-platform`) ? true : undefined,
    );
    await waitFor('the operator to roll the pods for it', async () => {
      const d = await child('apps/v1', 'Deployment', secretsNamespace, 'relay');
      return (d?.metadata.generation ?? 0) > 1 ? true : undefined;
    });
    const delivered = new Set(secretEvents.filter((s) => s.startsWith(`${secretsNamespace}/`)));
    expect([...delivered].sort()).toEqual([`${secretsNamespace}/relay-generated`, `${secretsNamespace}/viewport-platform`]);
  });
});

describe('the operator ServiceAccount (chart RBAC, cluster-wide install)', () => {
  // "kind/sub" is a subresource (kubectl reads "kind/x" as an object named x).
  const canI = async (verb: string, resource: string, namespace?: string): Promise<string> => {
    const [kind = '', subresource] = resource.split('/');
    const res = await shared.kubectl([
      'auth', 'can-i', verb, kind, ...(subresource ? [`--subresource=${subresource}`] : []),
      `--as=system:serviceaccount:${operatorNamespace}:${serviceAccount}`,
      ...(namespace ? ['-n', namespace] : ['--all-namespaces']),
    ]);
    return res.stdout.trim();
  };

  it.each([
    ['update', 'secrets'],
    ['deletecollection', 'secrets'],
    ['get', 'configmaps'],
    ['get', 'pods'],
    ['create', 'pods'],
    ['create', 'pods/exec'],
    ['update', 'deployments.apps'],
    ['get', 'deployments.apps'],
    ['patch', 'viewportrelays.relay.getviewport.com'],
    ['delete', 'viewportrelays.relay.getviewport.com'],
    ['update', 'viewportrelays.relay.getviewport.com/status'],
    ['create', 'rolebindings.rbac.authorization.k8s.io'],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
    ['impersonate', 'serviceaccounts'],
    ['create', 'serviceaccounts/token'],
    ['update', 'leases.coordination.k8s.io'],
    ['get', 'nodes'],
  ])('is denied %s %s', async (verb, resource) => {
    expect(await canI(verb, resource, secretsNamespace)).toBe('no');
  });

  it.each([
    ['get', 'secrets'],
    ['patch', 'secrets'],
    ['list', 'secrets'],
    ['patch', 'deployments.apps'],
    ['patch', 'viewportrelays.relay.getviewport.com/status'],
    // To say why pods do not come up (FailedCreate, image pulls, crash loops, scheduling): read, never write.
    ['list', 'pods'],
    ['list', 'events'],
  ])('is allowed %s %s (what the code uses; docs/security.md says why)', async (verb, resource) => {
    expect(await canI(verb, resource, secretsNamespace)).toBe('yes');
  });
});

describe('the namespace-scoped install (least privilege)', () => {
  it('grants nothing outside the watched namespaces, Secrets included', async () => {
    const scopedRelease = 'secns';
    const rendered = chartRbac(inject('toolchain').helm, scopedRelease, operatorNamespace, ['--set', `watchNamespaces={${secretsNamespace}}`]);
    expect(rendered.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    const applied = await shared.kubectl(['apply', '--server-side', '-f', '-'], rendered.map((o) => stringify(o)).join('---\n'));
    expect(applied.stderr).toBe('');
    const sa = chartIdentity(rendered).serviceAccount;
    const can = async (...args: string[]) =>
      (await shared.kubectl(['auth', 'can-i', ...args, `--as=system:serviceaccount:${operatorNamespace}:${sa}`])).stdout.trim();
    expect(await can('get', 'secrets', '-n', secretsNamespace)).toBe('yes');
    expect(await can('get', 'secrets', '-n', npNamespace)).toBe('no');
    expect(await can('get', 'secrets', '-n', 'kube-system')).toBe('no');
    expect(await can('list', 'secrets', '--all-namespaces')).toBe('no');
    expect(await can('list', 'viewportrelays.relay.getviewport.com', '--all-namespaces')).toBe('no');
  });
});
