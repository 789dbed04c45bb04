/**
 * A client going away says nothing about the worker: a worker that is merely
 * busy (its heartbeat stale) when a client disconnects must not be replaced,
 * and what else it holds must still be answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, sleep, startHost } from '../helpers/index.js';

const BUSY = `import { defineCgi, z } from 'cgihost';
export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  timeoutMs: 5_000,
  input: z.object({ busyMs: z.number().int().min(0).max(2_000), waitMs: z.number().int().min(0).max(5_000) }),
  output: z.object({ ok: z.boolean() }),
  async handler(input) {
    await new Promise((r) => setTimeout(r, input.waitMs));
    const end = Date.now() + input.busyMs;
    while (Date.now() < end) {}
    return { ok: true };
  },
});
`;

describe('a client that goes away', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({ files: { 'demo/busy.ts': BUSY } });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('does not get a busy worker replaced, and the worker still answers what it holds', async () => {
    // Held on the worker: answers after 100 ms of waiting, then 700 ms of synchronous work.
    const busy = host.post('busy', { busyMs: 700, waitMs: 100 });
    // A second request that the client abandons while the worker is in that synchronous stretch.
    const ac = new AbortController();
    const abandoned = fetch(`${host.url}/cgi-bin/busy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ busyMs: 0, waitMs: 3_000 }),
      signal: ac.signal,
    }).catch(() => 'aborted');
    // The point of the test is a moment: the abort lands inside the 100–800 ms synchronous stretch, which
    // nothing outside the worker can observe (its heartbeat is what goes stale), so it is timed, with margin both sides.
    await sleep(500);
    ac.abort();
    expect(await abandoned).toBe('aborted');
    const res = await busy;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    const cgis = (await host.get('/_host/api/cgis')).body.cgis as Array<{ name: string; restarts: number }>;
    expect(cgis.find((c) => c.name === 'busy')?.restarts).toBe(0);
  });
});
