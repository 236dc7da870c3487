import { defineConfig } from 'vitest/config';

// The browser tier (`npm run e2e:browser`): headless Debian Chromium and
// Firefox against real relay and redis-server processes. One file, one
// browser at a time: the machines have 2 cores.
export default defineConfig({
  test: {
    include: ['browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
