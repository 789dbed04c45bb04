/** Where things are: the repository root, the built CLI, the fixtures and the project's own CGIs. */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The built host (`npm start` runs it); the vitest global setup keeps dist/ fresh. */
export const CLI = join(ROOT, 'dist/cli.js');
/**
 * The `cgihost` command, as `npm start` and the installed package run the host: a shell line that execs node
 * on dist/cli.js with the environment the host needs (bin/cgihost.js).
 */
export const BIN = join(ROOT, 'bin/cgihost.js');
export const FIXTURES = join(ROOT, 'test/fixtures');
/** The project's own cgis/ folder (the messenger's CGIs). */
export const PROJECT_CGIS = join(ROOT, 'cgis');
