/**
 * SPEC §5 "each worker's memory is bounded, JS heap and Buffers both", for
 * the case resourceLimits and the worker's own heartbeat cannot see: Buffers
 * allocated in one synchronous loop, with only the CGI's own bound configured
 * (`maxExternalMb: 64`) and every other setting at its default but its
 * timeout, raised past the test's own so that a 502 can only come from the
 * memory rule, however slowly a loaded machine lets the loop allocate.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rssWatch, timed } from './support.js';
import { type RunningHost, startHost } from '../helpers/index.js';

let host: RunningHost;
let rss: ReturnType<typeof rssWatch> | undefined;

beforeAll(async () => {
  host = await startHost({
    files: { 'basic/echo.ts': '@basic/echo.ts', 'memory/buffers.ts': '@memory/buffers.ts' },
    config: { watch: false, cgis: { buffers: { maxExternalMb: 64, timeoutMs: 60_000 } } },
  });
  rss = rssWatch(host.proc.pid!);
});

afterAll(async () => {
  rss?.stop();
  await host?.kill();
});

it('a worker stuck allocating Buffers is terminated (502) and the host stays bounded', async () => {
  const { value: res, ms } = await timed(() => host.post('buffers', { mode: 'sync' }));
  const peak = rss!.peakMb();
  // One assertion, so a failure shows all of it at once.
  expect({
    status: res.status,
    code: res.body?.error?.code,
    peakRss: peak < 1_536 ? 'under 1.5 GB' : `${Math.round(peak)} MB after ${Math.round(ms)} ms`,
  }).toEqual({ status: 502, code: 'CGI_CRASHED', peakRss: 'under 1.5 GB' });
}, 60_000);

it('leaves echo answering, and the CGI answers again', async () => {
  expect((await host.post('echo', { text: 'x' })).status).toBe(200);
  const res = await host.post('buffers', { mode: 'none' });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ kept: 0 });
});
