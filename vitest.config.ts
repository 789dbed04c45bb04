import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'cgis/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // beforeAll hooks start hosts (a thread per CGI) and register users (scrypt): slow on a loaded machine.
    hookTimeout: 90_000,
    // Each test file starts its own host process on a random port.
    fileParallelism: true,
  },
});
