/**
 * Start-up and the port: a host whose port is taken exits non-zero at once,
 * having opened nothing (it must not touch the data dir of the host that has
 * the port); the port is taken before the CGIs load, and a request that
 * arrives while they load waits for them instead of being refused or 404ed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, startHost, tempDir, waitFor, writeCgis, type RunningHost } from '../helpers/index.js';

describe('a second host on a taken port', () => {
  let first: RunningHost;
  beforeAll(async () => {
    first = await startHost({ files: { 'basic/echo.ts': '@basic/echo.ts' }, config: { watch: false } });
  });
  afterAll(async () => {
    await first?.stop();
  });

  it('exits 1 at once, naming the address, and leaves the running host and its data dir alone', async () => {
    // Stands for an upload in flight on the first host: a second start on the same data dir once deleted it.
    mkdirSync(join(first.dataDir, 'tmp'), { recursive: true });
    const marker = join(first.dataDir, 'tmp', 'upload-in-flight');
    writeFileSync(marker, 'x');
    const args = ['start', '--port', String(first.port), '--host', '127.0.0.1', '--data-dir', first.dataDir, '--cgis-dir', first.cgisDir];
    // runCli fails the test if the process is still running after 20 s (it used to run forever).
    const r = await runCli(args, { timeoutMs: 20_000 });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${first.port}`);
    expect(r.stderr).toContain('EADDRINUSE');
    // It failed before loading any CGI or opening the store.
    expect(r.stdout).not.toMatch(/CGI loaded|listening on/);
    expect(existsSync(marker)).toBe(true);
    expect((await first.post('echo', { text: 'still here' })).body).toEqual({ echo: 'still here' });
  });

  it('exits 1 the same way with a data dir of its own, creating nothing in it', async () => {
    const dataDir = join(tempDir(), 'data');
    const r = await runCli([
      'start',
      '--port',
      String(first.port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--cgis-dir',
      first.cgisDir,
    ]);
    expect(r.code).toBe(1);
    expect(existsSync(dataDir)).toBe(false);
  });
});

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

it('answers a request sent before the host said it was ready, once the CGIs are loaded (no refusal, no 404)', async () => {
  const cgisDir = tempDir('cgihost-cgis-');
  writeCgis(cgisDir, {
    'basic/echo.ts': '@basic/echo.ts',
    // Loading this one takes 1.5 s of synchronous work: the window in which the port is open but nothing is loaded.
    'slow/slow_load.ts': `import { defineCgi, z } from 'cgihost';
const end = Date.now() + 1_500;
while (Date.now() < end) {}
export default defineCgi({ apiVersion: 1, auth: 'none', input: z.object({}), output: z.object({ ok: z.boolean() }), handler: () => ({ ok: true }) });
`,
  });
  const port = await freePort();
  const proc = spawn(BIN, ['start', '--port', String(port), '--host', '127.0.0.1', '--data-dir', tempDir(), '--cgis-dir', cgisDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let readyAt = 0;
  proc.stdout.on('data', (c) => {
    out += c;
    if (!readyAt && out.includes('listening on')) readyAt = performance.now();
  });
  proc.stderr.on('data', (c) => (out += c));
  try {
    // The first request that gets through to the host.
    const res = await waitFor(
      () => {
        const sentAt = performance.now();
        return fetch(`http://127.0.0.1:${port}/cgi-bin/echo`, { method: 'POST', body: '{"text":"early"}' }).then(async (r) => ({
          sentAt,
          status: r.status,
          body: await r.json(),
        }));
      },
      20_000,
      5,
    );
    expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { echo: 'early' } });
    await waitFor(() => readyAt > 0, 20_000);
    // It got in while slow_load was still loading (1.5 s), well before the host said it was ready.
    expect(readyAt - res.sentAt).toBeGreaterThan(500);
  } finally {
    proc.kill('SIGKILL');
  }
});
