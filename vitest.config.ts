import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'cgis/**/*.test.ts'],
    // Builds dist/ (what the tests run) when its inputs changed since the last build. An absolute path: a
    // vitest run on a scaffolded folder under test/.tmp (author-tools.test.ts) finds this config too.
    globalSetup: [resolve(import.meta.dirname, 'test/global-setup.ts')],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // beforeAll hooks start hosts (a thread per CGI) and register users (scrypt): slow on a loaded machine.
    hookTimeout: 90_000,
    // Each test file starts its own host process on a random port.
    fileParallelism: true,
  },
});
