// The local provider's cluster: a real control plane (etcd, kube-apiserver,
// controller-manager, scheduler), the CRDs, the pod runner as the only Node,
// and the operator as a local process authenticated as a ServiceAccount bound
// to the chart's ClusterRole.
import { CoreV1Api, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { installCrds, startControlPlane, type ControlPlane, type Toolchain } from '../controlplane/index.js';
import { startComponent, type Component } from '../controlplane/process.js';
import { waitFor } from '../controlplane/wait.js';
import { startPodRunner, type PodRunner } from './pod-runner.js';
import { startExposureStandIns } from '../test/exposure-stand-in.js';

/** OPERATOR_NAMESPACE is where the operator's ServiceAccount lives, as the chart installs it. */
export const OPERATOR_NAMESPACE = 'viewport-system';
/** OPERATOR_ACCOUNT names the operator's ServiceAccount, ClusterRole and binding. */
export const OPERATOR_ACCOUNT = 'viewport-relay-operator';
/** LOCAL_RELAY_IMAGE is the relay image the operator is told to use; the runner plays any *relay* image. */
export const LOCAL_RELAY_IMAGE = 'viewport-relay:e2e';
/** INGRESS_DOMAIN is the DNS suffix the runner treats as "per-pod public hosts". */
export const INGRESS_DOMAIN = 'e2e.invalid';

/** LocalCluster is everything the local provider runs. */
export interface LocalCluster {
  readonly cp: ControlPlane;
  readonly runner: PodRunner;
  readonly operatorLogPath: string;
  readonly runnerLogPath: string;
  stop(): Promise<void>;
}

/** chartRbacRules reads the operator's ClusterRole rules from the chart. */
export function chartRbacRules(repoRoot: string): V1PolicyRule[] {
  return parse(readFileSync(join(repoRoot, 'charts/viewport-relay-operator/files/rbac-rules.yaml'), 'utf8')) as V1PolicyRule[];
}

async function grantOperatorRbac(cp: ControlPlane, rules: V1PolicyRule[]): Promise<void> {
  const core = cp.adminKubeConfig.makeApiClient(CoreV1Api);
  const rbac = cp.adminKubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: OPERATOR_NAMESPACE } } });
  await core.createNamespacedServiceAccount({ namespace: OPERATOR_NAMESPACE, body: { metadata: { name: OPERATOR_ACCOUNT } } });
  await rbac.createClusterRole({ body: { metadata: { name: OPERATOR_ACCOUNT }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: OPERATOR_ACCOUNT },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE }],
    },
  });
}

/** startLocalCluster starts the whole local provider; on failure it stops what it started and throws. */
export async function startLocalCluster(o: {
  repoRoot: string;
  toolchain: Toolchain;
  nodeBinary: string;
  /** pathEnv is PATH for child processes (redis-server must be on it). */
  pathEnv: string;
}): Promise<LocalCluster> {
  const cp = await startControlPlane({ toolchain: o.toolchain, controllerManager: true, scheduler: true });
  let runner: PodRunner | undefined;
  let operator: Component | undefined;
  let exposure: { stop(): Promise<void> } | undefined;
  const runnerDir = join(cp.dir, 'runner');
  mkdirSync(runnerDir, { recursive: true });
  const runnerLogPath = join(cp.dir, 'pod-runner.log');
  const operatorLogPath = join(cp.dir, 'operator.log');
  const stop = async (): Promise<void> => {
    await operator?.stop(5_000);
    await exposure?.stop();
    await runner?.stop();
    await cp.stop();
  };
  try {
    await installCrds(cp, join(o.repoRoot, 'crds'));
    await grantOperatorRbac(cp, chartRbacRules(o.repoRoot));
    runner = await startPodRunner({
      kc: cp.adminKubeConfig,
      dir: runnerDir,
      recordIn: cp.dir,
      launch: {
        nodeBinary: o.nodeBinary,
        relayCli: join(o.repoRoot, 'relay/dist/cli.js'),
        redisServer: 'redis-server',
        ingressDomain: INGRESS_DOMAIN,
      },
      pathEnv: o.pathEnv,
      log: (message) => appendLine(runnerLogPath, message),
    });
    // The runner maps Ingress hosts to pods, as an ingress controller would; it
    // also publishes their address, and gateway and cert-manager status, so a
    // relay with exposure can become Ready (the operator's Exposed condition).
    exposure = startExposureStandIns(cp.adminKubeConfig, 'all');
    const operatorKc = await cp.kubeConfigForServiceAccount(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, 4 * 3600);
    const operatorKubeconfig = cp.writeKubeConfig(operatorKc, 'operator');
    operator = startComponent({
      name: 'operator',
      command: o.nodeBinary,
      args: [
        join(o.repoRoot, 'operator/dist/cli.js'),
        'run',
        '--kubeconfig',
        operatorKubeconfig,
        '--leader-elect=false',
        '--metrics-port',
        '0',
        '--health-port',
        '0',
        '--relay-image',
        LOCAL_RELAY_IMAGE,
      ],
      logPath: operatorLogPath,
      recordIn: cp.dir,
      env: { PATH: o.pathEnv, HOME: cp.dir },
    });
    const started = operator;
    await waitFor('the operator to start', () => (readFileSync(operatorLogPath, 'utf8').includes('operator_started') ? true : undefined), {
      timeoutMs: 30_000,
      abort: () => (started.hasExited() ? `operator exited:\n${readFileSync(operatorLogPath, 'utf8')}` : undefined),
    });
    return { cp, runner, operatorLogPath, runnerLogPath, stop };
  } catch (error) {
    const tails = cp.logs(30);
    await stop();
    throw new Error(`local cluster failed to start: ${error instanceof Error ? error.message : String(error)}\n${tails}`, { cause: error });
  }
}

function appendLine(path: string, line: string): void {
  const text = `${new Date().toISOString()} ${line}\n`;
  // After teardown removed the directory, late messages go to stderr instead.
  if (existsSync(dirname(path))) appendFileSync(path, text);
  else process.stderr.write(`[pod-runner] ${text}`);
}
