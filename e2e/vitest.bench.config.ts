import { defineConfig } from 'vitest/config';

// The operator benchmark (`npm run bench:operator`): one file that starts its
// own control plane and prints figures. Not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/**/*.ts'],
    testTimeout: 900_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
