import { defineConfig } from 'vitest/config';

// The API-server tier: one shared control plane (etcd, kube-apiserver,
// controller-manager, scheduler, kwok) started by the global setup. Files run
// one at a time: the machines have 2 cores and some files start their own
// control planes.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'controlplane/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
