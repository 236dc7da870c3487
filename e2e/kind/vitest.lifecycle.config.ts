import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The kind tier's lifecycle step (e2e/kind/run.sh, phase `lifecycle`): tests
// that kill, upgrade and uninstall the operator the chart installed, so they
// run after the suite, on their own. The suite's global setup provides the
// kind context (E2E_PROVIDER=kind and the rest of what run.sh exports).
export default defineConfig({
  root: resolve(import.meta.dirname, '..'),
  test: {
    include: ['kind/lifecycle/**/*.e2e.test.ts'],
    globalSetup: ['suite/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
