import { defineConfig } from 'vitest/config';

// Packaging checks: Dockerfiles, Helm chart, Argo CD health script, shell
// scripts, docs. Run from the repository root: npm run test:packaging
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
