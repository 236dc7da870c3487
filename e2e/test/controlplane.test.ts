// Proves the control-plane harness: the API server stores and serves objects,
// the controller-manager + scheduler + kwok turn a Deployment into Ready pods,
// RBAC is enforced, CRDs install, and an API server restart keeps the data.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fakeNodeName, installCrds, startControlPlane, waitFor, type ControlPlane } from '../controlplane/index.js';
import { kubeConfigForServiceAccount } from '../controlplane/identities.js';
import { useSharedControlPlane } from './shared-control-plane.js';

const shared = useSharedControlPlane();
const core = shared.kc.makeApiClient(CoreV1Api);
const apps = shared.kc.makeApiClient(AppsV1Api);
const rbac = shared.kc.makeApiClient(RbacAuthorizationV1Api);

function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? code : -1;
  }
}

describe('shared control plane', () => {
  it('creates, reads, updates and deletes a namespace', async () => {
    const name = 'cp-crud';
    await core.createNamespace({ body: { metadata: { name, labels: { purpose: 'crud' } } } });
    expect((await core.readNamespace({ name })).metadata?.labels?.purpose).toBe('crud');

    await core.patchNamespace({ name, body: [{ op: 'replace', path: '/metadata/labels/purpose', value: 'patched' }] });
    const listed = await core.listNamespace({ labelSelector: 'purpose=patched' });
    expect(listed.items.map((n) => n.metadata?.name)).toEqual([name]);

    await core.deleteNamespace({ name });
    // The namespace controller (controller-manager) finalizes the deletion.
    await waitFor(`namespace ${name} gone`, async () => ((await statusOf(core.readNamespace({ name }))) === 404 ? true : undefined));
  });

  it('runs a Deployment to Ready pods on the kwok node', async () => {
    const namespace = 'cp-deploy';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
        },
      },
    });

    const deployment = await waitFor('deployment web with 2 ready replicas', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: 'web' });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace });
    expect(replicaSets.items).toHaveLength(1);
    const rs = replicaSets.items[0];
    expect(rs?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', uid: deployment.metadata?.uid, controller: true });

    const pods = (await core.listNamespacedPod({ namespace })).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe(fakeNodeName);
      expect(pod.status?.phase).toBe('Running');
      expect(isPodReady(pod)).toBe(true);
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', uid: rs?.metadata?.uid });
    }

    // Garbage collection: deleting the Deployment removes its ReplicaSet and pods.
    await apps.deleteNamespacedDeployment({ namespace, name: 'web', propagationPolicy: 'Background' });
    await waitFor('pods of the deleted deployment gone', async () => {
      const left = (await core.listNamespacedPod({ namespace })).items.length + (await apps.listNamespacedReplicaSet({ namespace })).items.length;
      return left === 0 ? true : undefined;
    });
  });

  it('denies an unprivileged ServiceAccount and allows it once a Role grants access', async () => {
    const namespace = 'cp-rbac';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'nobody' } } });
    const asNobody = (await kubeConfigForServiceAccount(shared.kc, namespace, 'nobody')).makeApiClient(CoreV1Api);

    expect(await statusOf(asNobody.listNamespacedPod({ namespace }))).toBe(403);
    expect(await statusOf(asNobody.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);

    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'nobody-reads-pods' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'nobody', namespace }],
      },
    });
    await waitFor('the RoleBinding to take effect', async () =>
      (await statusOf(asNobody.listNamespacedPod({ namespace }))) === 200 ? true : undefined,
    );
    // The grant is scoped: other resources and namespaces stay forbidden.
    expect(await statusOf(asNobody.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await statusOf(asNobody.listNamespacedPod({ namespace: 'kube-system' }))).toBe(403);
  });

  it('lists the fake node with kubectl using the written kubeconfig', async () => {
    const res = await shared.kubectl(['get', 'nodes', '-o', 'name']);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe(`node/${fakeNodeName}`);
  });
});

describe('a private control plane (etcd + kube-apiserver only, Pod Security restricted)', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ toolchain: inject('toolchain'), podSecurity: 'restricted' });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('installs CRDs from a directory, and none from an empty one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-crds-'));
    try {
      expect(await installCrds(cp, empty)).toEqual([]);
      expect(await installCrds(cp, join(empty, 'missing'))).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(await installCrds(cp, resolve(import.meta.dirname, 'fixtures'))).toEqual(['widgets.e2e.viewport.dev']);
    const custom = cp.adminKubeConfig.makeApiClient(CustomObjectsApi);
    const bad = await statusOf(
      custom.createNamespacedCustomObject({
        group: 'e2e.viewport.dev', version: 'v1', namespace: 'default', plural: 'widgets',
        body: { apiVersion: 'e2e.viewport.dev/v1', kind: 'Widget', metadata: { name: 'w0' }, spec: { size: 0 } },
      }),
    );
    expect(bad).toBe(422);
  });

  it('keeps objects across an API server restart, and clients reconnect', async () => {
    const client = cp.adminKubeConfig.makeApiClient(CoreV1Api);
    await client.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'survivor' }, data: { k: 'v' } } });
    const custom = cp.adminKubeConfig.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'e2e.viewport.dev', version: 'v1', namespace: 'default', plural: 'widgets',
      body: { apiVersion: 'e2e.viewport.dev/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    });

    await cp.restartApiServer();

    expect((await client.readNamespacedConfigMap({ namespace: 'default', name: 'survivor' })).data).toEqual({ k: 'v' });
    const widget = (await custom.getNamespacedCustomObject({
      group: 'e2e.viewport.dev', version: 'v1', namespace: 'default', plural: 'widgets', name: 'w1',
    })) as { spec?: { size?: number } };
    expect(widget.spec?.size).toBe(3);
  });

  it('impersonates a user without rights, and mints working ServiceAccount tokens', async () => {
    const stranger = cp.kubeConfigAsUser('stranger').makeApiClient(CoreV1Api);
    expect(await statusOf(stranger.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
    const client = cp.adminKubeConfig.makeApiClient(CoreV1Api);
    await client.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'bot' } } });
    const bot = (await cp.kubeConfigForServiceAccount('default', 'bot')).makeApiClient(CoreV1Api);
    expect(await statusOf(bot.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
    const review = await cp.kubectl(['auth', 'can-i', 'list', 'configmaps', '--as=system:serviceaccount:default:bot']);
    expect(review.stdout.trim()).toBe('no');
  });

  it('enforces the configured Pod Security level by default', async () => {
    const client = cp.adminKubeConfig.makeApiClient(CoreV1Api);
    // No controller-manager here: create the ServiceAccount pods default to.
    await client.createNamespace({ body: { metadata: { name: 'psa' } } });
    await client.createNamespacedServiceAccount({ namespace: 'psa', body: { metadata: { name: 'default' } } });
    const pod = (name: string, securityContext: object) => ({
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'example.invalid/c:1', securityContext }] },
    });
    const privileged = await statusOf(client.createNamespacedPod({ namespace: 'psa', body: pod('privileged', { privileged: true }) }));
    expect(privileged).toBe(403);
    const restricted = {
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    expect(await statusOf(client.createNamespacedPod({ namespace: 'psa', body: pod('restricted', restricted) }))).toBe(200);
  });

  it('stops every process and removes its directory', async () => {
    const dir = cp.dir;
    await cp.stop();
    expect(existsSync(dir)).toBe(false);
    const client = cp.adminKubeConfig.makeApiClient(CoreV1Api);
    expect(await statusOf(client.listNamespace())).toBe(-1);
  });
});
