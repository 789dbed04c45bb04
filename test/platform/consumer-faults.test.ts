/**
 * Consumers have the isolation of CGIs (SPEC §8): one that crashes its worker
 * or hangs it in a loop is quarantined, and the CGIs next door answer
 * throughout; its jobs stay queued. A consumer rewritten again and again
 * while jobs stream in loses none of them and fails none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startHost, waitFor, writeCgis, type RunningHost } from '../helpers/index.js';
import { cgiSummary } from '../helpers/index.js';
import { kv, listAll, topic, value } from './support.js';

const crashy = readFileSync(join(FIXTURES, 'cgis/platform/crashy.ts'), 'utf8');

/** A consumer of 'stream' that records each job's id with the version that handled it. */
const streamConsumer = (v: number) => `import { defineConsumer, z } from 'cgihost';
export default defineConsumer({
  apiVersion: 1,
  topic: 'stream',
  concurrency: 4,
  input: z.object({ id: z.number() }),
  async handler(job, ctx) {
    await new Promise((r) => setTimeout(r, 5));
    await ctx.kv.atomic().set(['got', job.id], ${v}).sum(['handled'], 1).commit();
  },
});
`;

describe('a consumer that crashes or loops', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({
      files: {
        'basic/echo.ts': '@basic/echo.ts',
        'c/kv.ts': '@platform/kv.ts',
        'c/crashy.ts': crashy,
        'c/looper.ts': crashy.replace("topic: 'crashy'", "topic: 'looper'"),
      },
      config: {
        watch: false,
        // A window long enough for three restarts of a worker on a loaded machine (each a thread start and a watchdog verdict).
        faults: { crashLimit: 3, crashWindowMs: 60_000, probeInitialMs: 120_000, heartbeatMs: 25 },
        queue: { backoffBaseMs: 20, backoffMaxMs: 100 },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await host?.kill();
  });

  async function echoAnswersWhile(done: () => Promise<boolean>, ms: number): Promise<number> {
    let answered = 0;
    const end = Date.now() + ms;
    while (!(await done())) {
      if (Date.now() > end) throw new Error(`not done within ${ms} ms`);
      const res = await host.post('echo', { text: 'next door' });
      expect(res.status).toBe(200);
      answered++;
    }
    return answered;
  }

  it('one that exits is quarantined after its crash limit; echo answers throughout; the job stays queued', async () => {
    await kv(host, 'kv', { op: 'send', topic: 'crashy', payload: { how: 'exit' } });
    const answered = await echoAnswersWhile(async () => (await cgiSummary(host, 'crashy')).state === 'quarantined', 25_000);
    expect(answered).toBeGreaterThan(0);
    const s = await cgiSummary(host, 'crashy');
    expect(s.restarts).toBeGreaterThanOrEqual(3);
    await waitFor(() => /"alert":"cgi_quarantined".*"cgi":"crashy"|"cgi":"crashy".*"alert":"cgi_quarantined"/.test(host.output()), 5_000);
    const t = (await topic(host, 'crashy'))!;
    expect(t.depth + t.deadLetters).toBe(1);
    // The other consumer and the CGIs are untouched.
    expect((await cgiSummary(host, 'looper')).state).toBe('ready');
    expect((await cgiSummary(host, 'echo')).restarts).toBe(0);
  }, 40_000);

  it('one stuck in a synchronous loop is ended by the watchdog each time, then quarantined; echo answers throughout', async () => {
    await kv(host, 'kv', { op: 'send', topic: 'looper', payload: { how: 'loop' } });
    await echoAnswersWhile(async () => (await cgiSummary(host, 'looper')).state === 'quarantined', 75_000);
    expect(host.output()).toMatch(/"cgi":"looper"[^\n]*"reason":"(stuck|timeout)"/);
    expect((await cgiSummary(host, 'echo')).restarts).toBe(0);
    const res = await host.post('echo', { text: 'still here' });
    expect(res.body).toEqual({ echo: 'still here' });
  }, 90_000);
});

describe('hot reload of a consumer under a stream of jobs', () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startHost({ files: { 's/kv.ts': '@platform/kv.ts', 's/stream.ts': streamConsumer(1) } });
  }, 60_000);
  afterAll(async () => {
    await host?.kill();
  });

  it('loses no job and fails none across three rewrites', async () => {
    const N = 300;
    const sending = (async () => {
      for (let id = 0; id < N; id++) {
        await kv(host, 'kv', { op: 'send', topic: 'stream', payload: { id } });
        if (id % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const versionOf = async () => (await cgiSummary(host, 'stream')).version;
    for (const v of [2, 3, 4]) {
      // Each rewrite lands while jobs are being handled.
      await waitFor(async () => (((await value(host, 'kv', ['handled'])) as number | null) ?? 0) >= (v - 1) * 40, 20_000);
      const before = await versionOf();
      writeCgis(host.cgisDir, { 's/stream.ts': streamConsumer(v) });
      await waitFor(async () => (await versionOf()) !== before, 10_000);
    }
    await sending;
    await waitFor(async () => (await listAll(host, 'kv', { prefix: ['got'], limit: 1000 })).length === N, 30_000, 100);
    const got = await listAll(host, 'kv', { prefix: ['got'], limit: 1000 });
    expect(got.map((e) => e.key[1])).toEqual(Array.from({ length: N }, (_, i) => i));
    const versions = new Set(got.map((e) => e.value));
    expect(versions.size).toBeGreaterThan(1);
    const t = (await topic(host, 'stream'))!;
    expect(t).toMatchObject({ depth: 0, failed: 0, deadLetters: 0, retries: 0 });
    expect(host.output()).not.toMatch(/consumer job failed/);
  }, 120_000);
});
