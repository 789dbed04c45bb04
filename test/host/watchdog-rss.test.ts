/**
 * The watchdog's process-RSS rule (faults.processRssMb) judges a silent worker
 * by what the process gained while it was silent, not by the RSS alone: RSS
 * that was there before (the store, memory the allocator kept after an earlier
 * incident) must not get a CGI that merely computes for a while killed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../helpers/index.js';
import { memoryOf } from './support.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: { 'faults/busy.ts': '@faults/busy.ts', 'memory/buffers.ts': '@memory/buffers.ts' },
    // 64 MB is below what any host needs: the process is over its bound from the start.
    config: { watch: false, faults: { processRssMb: 64 }, cgis: { buffers: { maxExternalMb: 64, timeoutMs: 60_000 } } },
  });
});

afterAll(async () => {
  await host?.kill();
});

it('lets a CGI compute for 1.5 s without answering heartbeats while the process is over processRssMb', async () => {
  expect(memoryOf(host.proc.pid!).rssMb).toBeGreaterThan(64);
  const res = await host.post('busy', { ms: 1_500 });
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { busyMs: 1_500 } });
});

it('still terminates a silent worker that makes the process grow (502)', async () => {
  const res = await host.post('buffers', { mode: 'sync' });
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 502, code: 'CGI_CRASHED' });
});
