// Access to the control plane the global setup started, for test files.
import { KubeConfig } from '@kubernetes/client-node';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, inject } from 'vitest';
import { runKubectl, type KubectlResult } from '../controlplane/kubectl.js';
import { logTail } from '../controlplane/process.js';

/** SharedControlPlane is the global setup's control plane as a test sees it. */
export interface SharedControlPlane {
  readonly kubeconfigPath: string;
  readonly kc: KubeConfig;
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  logs(lines?: number): string;
}

/** useSharedControlPlane returns the shared control plane and prints its
 * component logs after any failed test in the calling file. */
export function useSharedControlPlane(): SharedControlPlane {
  const kubeconfigPath = inject('kubeconfigPath');
  const dir = inject('controlPlaneDir');
  const kubectl = inject('toolchain').kubectl;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const logs = (lines = 40): string =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => `----- ${f} -----\n${logTail(join(dir, f), lines)}`)
      .join('\n');
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`${logs()}\n`);
  });
  return { kubeconfigPath, kc, kubectl: (args, input) => runKubectl(kubectl, kubeconfigPath, args, input), logs };
}
