// A real Kubernetes control plane on loopback for tests: etcd + kube-apiserver,
// optionally kube-controller-manager, kube-scheduler and kwok (a fake Node
// whose pods turn Running/Ready without containers).
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  apiServerArgs,
  controllerManagerArgs,
  etcdArgs,
  fakeNode,
  kwokArgs,
  podSecurityAdmissionConfig,
  schedulerArgs,
  type PodSecurityLevel,
} from './components.js';
import { kubeConfigAsUser, kubeConfigForServiceAccount } from './identities.js';
import { kubeconfigYaml, type KubeconfigUser } from './kubeconfig.js';
import { runKubectl, type KubectlResult } from './kubectl.js';
import { generatePki, type Pki } from './pki.js';
import { freePort } from './ports.js';
import { logTail, startComponent, startWatchdog, trackDir, untrackDir, type Component } from './process.js';
import { resolveToolchain, type BinaryName, type Toolchain } from './toolchain.js';
import { waitFor } from './wait.js';

/** ControlPlaneOptions picks the components; etcd and kube-apiserver always run. */
export interface ControlPlaneOptions {
  /** controllerManager runs every default controller (GC, Deployments, ReplicaSets, EndpointSlices, SA tokens). */
  readonly controllerManager?: boolean;
  readonly scheduler?: boolean;
  /** kwok fakes one Node, `fakeNodeName`, on which scheduled pods become Running and Ready. */
  readonly kwok?: boolean;
  /** rbac turns on the Node and RBAC authorizers (default true); off means AlwaysAllow. */
  readonly rbac?: boolean;
  /** podSecurity sets the cluster-wide default Pod Security level (the API server's default is privileged). */
  readonly podSecurity?: PodSecurityLevel;
  readonly toolchain?: Toolchain;
  /** startTimeoutMs bounds each readiness wait (default 120 s: cold starts on 2 busy cores are slow). */
  readonly startTimeoutMs?: number;
  /** extraApiServerArgs are appended to kube-apiserver's flags (e.g. to make watches expire quickly). */
  readonly extraApiServerArgs?: readonly string[];
}

/** ControlPlane is a running control plane; stop() removes every trace of it. */
export interface ControlPlane {
  /** dir holds certs, data and one log file per component. */
  readonly dir: string;
  /** server is the API server's https URL. */
  readonly server: string;
  /** kubeconfigPath authenticates as a system:masters admin. */
  readonly kubeconfigPath: string;
  readonly adminKubeConfig: KubeConfig;
  readonly toolchain: Toolchain;
  /** kubeConfigForServiceAccount mints a token (TokenRequest API) for namespace/name and returns a config using it. */
  kubeConfigForServiceAccount(namespace: string, name: string, expirationSeconds?: number): Promise<KubeConfig>;
  /** kubeConfigAsUser returns an admin config that impersonates `user` (no groups but system:authenticated). */
  kubeConfigAsUser(user: string): KubeConfig;
  /** writeKubeConfig saves kc under dir so kubectl or a child process can use it; returns the path. */
  writeKubeConfig(kc: KubeConfig, name: string): string;
  /** kubectl runs the toolchain's kubectl, as admin unless `kubeconfig` is given. */
  kubectl(args: readonly string[], o?: { kubeconfig?: string; input?: string }): Promise<KubectlResult>;
  /** restartApiServer stops kube-apiserver and starts it again on the same port; etcd keeps the data. */
  restartApiServer(): Promise<void>;
  /** logs returns the tail of every component's log, for failure reports. */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/** fakeNodeName is the Node kwok manages. */
export const fakeNodeName = 'kwok-node-0';

const adminUser = 'viewport-e2e-admin';

function neededBinaries(o: ControlPlaneOptions): BinaryName[] {
  const names: BinaryName[] = ['etcd', 'kube-apiserver'];
  if (o.controllerManager) names.push('kube-controller-manager');
  if (o.scheduler) names.push('kube-scheduler');
  if (o.kwok) names.push('kwok');
  return names;
}

// The API server's health endpoints need the client cert; fetch cannot present one.
function httpsStatus(url: string, pki: Pki): Promise<{ status: number; body: string }> {
  const admin = pki.clients.admin;
  if (admin === undefined) throw new Error('admin client certificate missing');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(admin.cert),
        key: readFileSync(admin.key),
        timeout: 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout requesting ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Components starts and tracks the control plane's processes under one dir. */
interface Components {
  start(name: string, binary: BinaryName, args: string[], env?: NodeJS.ProcessEnv): Component;
  /** died is an abort check for waitFor: the component's log tail once it has exited. */
  died(component: Component): () => string | undefined;
  logs(lines?: number): string;
  /** stop stops every component (last started first) and removes dir; idempotent. */
  stop(): Promise<void>;
}

function trackComponents(dir: string, toolchain: Toolchain): Components {
  const components: Component[] = [];
  const watchdog = startWatchdog(dir);
  let stopped = false;
  return {
    start(name, binary, args, env) {
      const component = startComponent({
        name,
        command: toolchain[binary],
        args,
        logPath: join(dir, `${name}.log`),
        recordIn: dir,
        ...(env ? { env } : {}),
      });
      components.push(component);
      return component;
    },
    died: (component) => () => (component.hasExited() ? `${component.name} exited; log tail:\n${logTail(component.logPath)}` : undefined),
    logs: (lines = 40) =>
      components
        .filter((c, i, all) => all.findIndex((d) => d.logPath === c.logPath) === i)
        .map((c) => `----- ${c.name} (${c.logPath}) -----\n${logTail(c.logPath, lines)}`)
        .join('\n'),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const component of [...components].reverse()) await component.stop();
      await watchdog.stop(1_000);
      rmSync(dir, { recursive: true, force: true });
      untrackDir(dir);
    },
  };
}

/** startEtcd starts etcd and waits for its health endpoint; its client port. */
async function startEtcd(c: Components, dir: string, timeoutMs: number): Promise<number> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const etcd = c.start('etcd', 'etcd', etcdArgs({ dataDir: join(dir, 'etcd'), clientPort, peerPort }));
  await waitFor(
    'etcd health',
    async () => {
      const res = await fetch(`http://127.0.0.1:${clientPort}/health`);
      const body = (await res.json()) as { health?: string };
      return body.health === 'true' ? true : undefined;
    },
    { timeoutMs, abort: c.died(etcd) },
  );
  return clientPort;
}

/** apiServerFlags are kube-apiserver's flags for this control plane (the admission config is written under dir). */
function apiServerFlags(o: ControlPlaneOptions, dir: string, pki: Pki, etcdPort: number, port: number): string[] {
  let admissionConfig: string | undefined;
  if (o.podSecurity !== undefined) {
    admissionConfig = join(dir, 'admission.yaml');
    writeFileSync(admissionConfig, stringify(podSecurityAdmissionConfig(o.podSecurity)));
  }
  mkdirSync(join(dir, 'apiserver-certs'));
  return [
    ...apiServerArgs({
      pki,
      etcdPort,
      port,
      certDir: join(dir, 'apiserver-certs'),
      rbac: o.rbac ?? true,
      ...(admissionConfig ? { admissionConfig } : {}),
    }),
    ...(o.extraApiServerArgs ?? []),
  ];
}

/** waitApiReady waits for kube-apiserver's /readyz, reporting the failing checks meanwhile. */
async function waitApiReady(c: Components, apiserver: Component, server: string, pki: Pki, timeoutMs: number): Promise<void> {
  await waitFor(
    'kube-apiserver /readyz',
    async () => {
      const res = await httpsStatus(`${server}/readyz`, pki);
      if (res.status === 200) return true;
      throw new Error(`HTTP ${res.status}: ${res.body.split('\n').filter((l) => l.includes('failed')).join('; ')}`);
    },
    { timeoutMs, abort: c.died(apiserver) },
  );
}

/** kubeconfigWriter returns kubeconfigFor: write a kubeconfig under dir for one of the PKI's client certificates. */
function kubeconfigWriter(dir: string, pki: Pki, server: string): (clientName: string, user: string) => string {
  const caPem = readFileSync(pki.caCert, 'utf8');
  return (clientName, user) => {
    const pair = pki.clients[clientName];
    if (pair === undefined) throw new Error(`no client certificate named ${clientName}`);
    const path = join(dir, `${clientName}.kubeconfig`);
    const credentials: KubeconfigUser = {
      name: user,
      certPem: readFileSync(pair.cert, 'utf8'),
      keyPem: readFileSync(pair.key, 'utf8'),
    };
    writeFileSync(path, kubeconfigYaml({ server, caPem, user: credentials }), { mode: 0o600 });
    return path;
  };
}

/** startControllers starts the optional components: controller manager, scheduler, kwok and its fake Node. */
async function startControllers(
  o: ControlPlaneOptions,
  c: Components,
  env: { dir: string; pki: Pki; core: CoreV1Api; timeoutMs: number; kubeconfigFor: (clientName: string, user: string) => string },
): Promise<void> {
  const { dir, pki, core, timeoutMs, kubeconfigFor } = env;
  if (o.controllerManager) {
    const kcm = c.start(
      'kube-controller-manager',
      'kube-controller-manager',
      controllerManagerArgs({ kubeconfig: kubeconfigFor('kube-controller-manager', 'system:kube-controller-manager'), pki }),
    );
    // The service-account controller creating `default` shows the controllers are running.
    await waitFor('the default ServiceAccount (kube-controller-manager running)', async () =>
      (await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' })) ? true : undefined,
    { timeoutMs, abort: c.died(kcm) });
  }
  if (o.scheduler) {
    c.start('kube-scheduler', 'kube-scheduler', schedulerArgs({ kubeconfig: kubeconfigFor('kube-scheduler', 'system:kube-scheduler') }));
  }
  if (o.kwok) {
    const kwokHome = join(dir, 'kwok-home');
    mkdirSync(kwokHome);
    const kwokConfig = join(dir, 'kwok.yaml');
    writeFileSync(kwokConfig, 'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n');
    // HOME keeps kwok from reading a developer's ~/.kwok.
    const kwok = c.start('kwok', 'kwok', kwokArgs({ kubeconfig: kubeconfigFor('kwok', 'kwok-controller'), config: kwokConfig }), {
      ...process.env,
      HOME: kwokHome,
    });
    await core.createNode({ body: fakeNode(fakeNodeName) as V1Node });
    await waitFor(`Node ${fakeNodeName} Ready (kwok)`, async () =>
      isNodeReady(await core.readNode({ name: fakeNodeName })) ? true : undefined,
    { timeoutMs, abort: c.died(kwok) });
  }
}

/** startControlPlane starts the requested components, waits until each is
 * usable, and returns handles; on any start failure it tears down what it
 * started and throws with the components' log tails. */
export async function startControlPlane(o: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const toolchain = o.toolchain ?? resolveToolchain();
  const missing = neededBinaries(o).filter((name) => !existsSync(toolchain[name]));
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries missing (${missing.map((n) => toolchain[n]).join(', ')}); run: bash e2e/toolchain/build.sh`,
    );
  }
  const timeoutMs = o.startTimeoutMs ?? 120_000;
  const dir = mkdtempSync(join(tmpdir(), 'viewport-cp-'));
  trackDir(dir);
  const c = trackComponents(dir, toolchain);

  try {
    const pki = generatePki(join(dir, 'pki'), {
      admin: { user: adminUser, groups: ['system:masters'] },
      'kube-controller-manager': { user: 'system:kube-controller-manager', groups: [] },
      'kube-scheduler': { user: 'system:kube-scheduler', groups: [] },
      // kwok rewrites Node and Pod status wholesale; it is scaffolding, not under test.
      kwok: { user: 'kwok-controller', groups: ['system:masters'] },
    });
    const etcdPort = await startEtcd(c, dir, timeoutMs);
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const apiArgs = apiServerFlags(o, dir, pki, etcdPort, apiPort);
    let apiserver = c.start('kube-apiserver', 'kube-apiserver', apiArgs);
    await waitApiReady(c, apiserver, server, pki, timeoutMs);

    const kubeconfigFor = kubeconfigWriter(dir, pki, server);
    const kubeconfigPath = kubeconfigFor('admin', adminUser);
    const adminKubeConfig = new KubeConfig();
    adminKubeConfig.loadFromFile(kubeconfigPath);
    await startControllers(o, c, { dir, pki, core: adminKubeConfig.makeApiClient(CoreV1Api), timeoutMs, kubeconfigFor });

    return {
      dir,
      server,
      kubeconfigPath,
      adminKubeConfig,
      toolchain,
      kubeConfigForServiceAccount: (namespace, name, expirationSeconds) =>
        kubeConfigForServiceAccount(adminKubeConfig, namespace, name, expirationSeconds),
      kubeConfigAsUser: (user) => kubeConfigAsUser(adminKubeConfig, user),
      writeKubeConfig: (kc, name) => writeKubeConfig(dir, kc, name),
      kubectl(args, k = {}) {
        return runKubectl(toolchain.kubectl, k.kubeconfig ?? kubeconfigPath, args, k.input);
      },
      async restartApiServer() {
        await apiserver.stop();
        apiserver = c.start('kube-apiserver', 'kube-apiserver', apiArgs);
        await waitApiReady(c, apiserver, server, pki, timeoutMs);
      },
      logs: (lines) => c.logs(lines),
      stop: () => c.stop(),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const tails = c.logs(30);
    await c.stop();
    throw new Error(`control plane failed to start: ${message}\n${tails}`, { cause: error });
  }
}

/** writeKubeConfig saves kc under dir so kubectl or a child process can use it; returns the path. */
function writeKubeConfig(dir: string, kc: KubeConfig, name: string): string {
  const path = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.kubeconfig`);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
