/**
 * SPEC §5: each worker's memory is bounded, JS heap and Buffers both; a worker
 * over its bound is replaced, and the host process stays within bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryOf, rssWatch, timed } from './support.js';
import { cgiSummary, expectError, type RunningHost, startHost, waitFor } from '../helpers/index.js';

let host: RunningHost;
let rss: ReturnType<typeof rssWatch> | undefined;

beforeAll(async () => {
  host = await startHost({
    files: {
      'basic/echo.ts': '@basic/echo.ts',
      'memory/heap.ts': '@memory/heap.ts',
      'memory/buffers.ts': '@memory/buffers.ts',
      'memory/buffers_sync.ts': '@memory/buffers.ts',
    },
    config: {
      watch: false,
      cgis: { heap: { maxHeapMb: 32 }, buffers: { maxExternalMb: 64 }, buffers_sync: { maxExternalMb: 64 } },
      // A synchronous Buffer loop cannot report its own memory: the host judges by the process's RSS.
      faults: { crashLimit: 1000, heartbeatMs: 25, processRssMb: 256 },
    },
  });
  rss = rssWatch(host.proc.pid!);
});

afterAll(async () => {
  rss?.stop();
  await host?.kill();
});

async function echoStillAnswers(): Promise<void> {
  const res = await host.post('echo', { text: 'next door' });
  expect(res.status).toBe(200);
}

describe('JS heap exhaustion (maxHeapMb: 32)', () => {
  it('fails the request with 502 CGI_CRASHED', async () => {
    const { value: res, ms } = await timed(() => host.post('heap', { grow: true }));
    expectError(res, 502, 'CGI_CRASHED');
    expect(ms).toBeLessThan(8_000);
  });

  it('leaves echo answering', echoStillAnswers);

  it('is replaced: the CGI answers again, with a fresh heap', async () => {
    const res = await host.post('heap', { grow: false });
    expect(res.status).toBe(200);
    // The replacement started empty: what the dead worker kept is gone.
    expect(res.body).toEqual({ kept: 0 });
    expect((await cgiSummary(host, 'heap')).restarts).toBe(1);
  });
});

describe('Buffer exhaustion (maxExternalMb: 64), asynchronous', () => {
  it('is terminated by the watchdog within a few seconds: 502 CGI_CRASHED', async () => {
    const { value: res, ms } = await timed(() => host.post('buffers', { mode: 'async' }));
    expectError(res, 502, 'CGI_CRASHED');
    expect(ms).toBeLessThan(5_000);
  });

  it('leaves echo answering', echoStillAnswers);

  it('is replaced: the CGI answers again, with nothing kept', async () => {
    const res = await host.post('buffers', { mode: 'none' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ kept: 0 });
  });
});

describe('Buffer exhaustion in a synchronous loop (faults.processRssMb: 256)', () => {
  // The worker cannot report while it is stuck: the host terminates it once the process passes processRssMb.
  it('is terminated within a few seconds (502), and the process RSS stays bounded', async () => {
    const { value: res, ms } = await timed(() => host.post('buffers_sync', { mode: 'sync' }));
    expectError(res, 502, 'CGI_CRASHED');
    // How soon depends on how fast the loop allocates (slower on a busy machine); the RSS bound is what matters.
    expect(ms).toBeLessThan(8_000);
    expect(rss!.peakMb()).toBeLessThan(1_536);
    // The terminated worker's Buffers are given back.
    await waitFor(() => memoryOf(host.proc.pid!).rssMb < 256, 5_000);
  });

  it('leaves echo answering', echoStillAnswers);

  it('is replaced: the CGI answers again', async () => {
    const res = await host.post('buffers_sync', { mode: 'none' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ kept: 0 });
  });
});
