/**
 * Everything the tests share, in one import:
 *
 *   import { startHost, newUsers, waitFor, expectError } from '../helpers/index.js';
 *
 * A suite keeps its own support file only for what is truly its own (the
 * media uploads, the reload probes, the store opened in-process).
 */
export * from './paths.js';
export * from './fs.js';
export * from './wait.js';
export * from './host.js';
export * from './cli.js';
export * from './users.js';
export * from './api.js';
export * from './metrics.js';
export * from './admin.js';
