// The control-plane harness: build or find the binaries, start a control plane, install CRDs.
export { startControlPlane, fakeNodeName, type ControlPlane, type ControlPlaneOptions } from './controlplane.js';
export { installCrds, crdFiles, crdNames } from './crds.js';
export { kubeConfigAsUser, kubeConfigForServiceAccount } from './identities.js';
export { ensureToolchain, resolveToolchain, toolchainVersions, type Toolchain } from './toolchain.js';
export { waitFor } from './wait.js';
export type { KubectlResult } from './kubectl.js';
export type { PodSecurityLevel } from './components.js';
