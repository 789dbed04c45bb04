import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'cgis/**/*.test.ts'],
    // Builds dist/ (what the tests run) when its inputs changed since the last build.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file starts its own host process on a random port.
    fileParallelism: true,
  },
});
