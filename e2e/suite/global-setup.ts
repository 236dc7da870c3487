// Global setup of `npm run e2e`: with the local provider, build or reuse the
// control-plane toolchain and start the local cluster (control plane, pod
// runner, operator); with kind, use the cluster e2e/kind/run.sh prepared.
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureToolchain } from '../controlplane/index.js';
import '../helpers/context.js';
import { e2eSettings } from '../helpers/config.js';
import { LOCAL_RELAY_IMAGE, OPERATOR_NAMESPACE, startLocalCluster } from '../local/cluster.js';

const repoRoot = resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = e2eSettings();
  if (settings.provider === 'kind') {
    if (settings.kubeconfig === undefined) throw new Error('E2E_PROVIDER=kind needs KUBECONFIG (run it through npm run e2e:kind)');
    if (settings.platformHost === undefined) {
      throw new Error('E2E_PROVIDER=kind needs E2E_PLATFORM_HOST: the address pods reach this machine at (the kind network gateway)');
    }
    project.provide('e2e', {
      provider: 'kind',
      kubeconfigPath: settings.kubeconfig,
      operatorNamespace: settings.operatorNamespace,
      relayImage: settings.relayImage ?? 'viewport-relay:e2e',
      local: undefined,
      kubectl: settings.kubectl,
      platformHost: settings.platformHost,
    });
    return async () => undefined;
  }
  const toolchain = await ensureToolchain();
  const cluster = await startLocalCluster({ repoRoot, toolchain, nodeBinary: process.execPath, pathEnv: settings.pathEnv });
  project.provide('e2e', {
    provider: 'local',
    kubeconfigPath: cluster.cp.kubeconfigPath,
    operatorNamespace: OPERATOR_NAMESPACE,
    relayImage: LOCAL_RELAY_IMAGE,
    local: {
      controlPlaneDir: cluster.cp.dir,
      runnerDir: join(cluster.cp.dir, 'runner'),
      runnerLogPath: cluster.runnerLogPath,
      operatorLogPath: cluster.operatorLogPath,
      terminationsPath: cluster.runner.terminationsPath,
      kubectl: toolchain.kubectl,
    },
    kubectl: toolchain.kubectl,
    platformHost: undefined,
  });
  return async () => {
    await cluster.stop();
  };
}
