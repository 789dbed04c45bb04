/**
 * The worker bundle's V8 code cache (made by `npm run build`) must be one V8
 * takes: a rejected cache still works, but every CGI thread then parses and
 * compiles the bundle again (start-up about 1.5x slower, 5 MB more per thread).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/index.js';

describe('worker bundle code cache', () => {
  it('is accepted by this node for the bundle beside it, compiled the way dist/worker.cjs compiles it', () => {
    const bundle = join(ROOT, 'dist', 'worker-bundle.cjs');
    const cachedData = readFileSync(join(ROOT, 'dist', 'worker-bundle.cache'));
    expect(cachedData.length).toBeGreaterThan(100_000);
    const boot = readFileSync(join(ROOT, 'dist', 'worker.cjs'), 'utf8');
    expect(boot).toContain('compileFunction');
    const run = compileFunction(readFileSync(bundle, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
      filename: bundle,
      cachedData,
    });
    expect(run.cachedDataRejected).toBe(false);
    // A cache for other code is refused, so the check above can fail.
    const other = compileFunction('return 1 + 1;', ['exports'], { cachedData });
    expect(other.cachedDataRejected).toBe(true);
  });
});
