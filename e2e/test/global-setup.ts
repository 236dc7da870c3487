// Vitest global setup: make sure the binaries exist (a cold build on first
// use, seconds afterwards), start the shared control plane, install crds/.
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureToolchain, installCrds, startControlPlane, type Toolchain } from '../controlplane/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** kubeconfigPath authenticates as admin against the shared control plane. */
    kubeconfigPath: string;
    /** controlPlaneDir holds the shared control plane's component logs. */
    controlPlaneDir: string;
    toolchain: Toolchain;
    /** crds lists the CRD names installed from crds/. */
    crds: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const toolchain = await ensureToolchain();
  const cp = await startControlPlane({ toolchain, controllerManager: true, scheduler: true, kwok: true });
  try {
    const crds = await installCrds(cp, resolve(import.meta.dirname, '../../crds'));
    project.provide('kubeconfigPath', cp.kubeconfigPath);
    project.provide('controlPlaneDir', cp.dir);
    project.provide('toolchain', toolchain);
    project.provide('crds', crds);
  } catch (error) {
    process.stderr.write(cp.logs());
    await cp.stop();
    throw error;
  }
  return async () => {
    await cp.stop();
  };
}
