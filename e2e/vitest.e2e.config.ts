import { defineConfig } from 'vitest/config';

// The end-to-end tier (`npm run e2e`): the local pod runner's own tests and
// the suite, against a control plane, the operator and real relay and Redis
// processes. One file at a time: each scenario starts pods, and the machines
// have 2 cores. The provider (E2E_PROVIDER=local|kind) is chosen in
// suite/global-setup.ts.
export default defineConfig({
  test: {
    include: ['local/**/*.test.ts', 'helpers/**/*.test.ts', 'suite/**/*.e2e.test.ts'],
    globalSetup: ['suite/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
