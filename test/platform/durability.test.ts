/**
 * SPEC §8: a resolved ctx.kv write and a resolved ctx.queue.send survive
 * `kill -9` of the host. Writes and sends stream in; the host is killed in
 * the middle; started again on the same data dir, every acknowledged value is
 * there, and every acknowledged job is handled (at least once).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startHost, tempDir, waitFor, writeCgis, type RunningHost } from '../helpers/index.js';
import { listAll } from './support.js';

const consumer = `import { defineConsumer, z } from 'cgihost';
export default defineConsumer({
  apiVersion: 1,
  topic: 'dur',
  input: z.object({ id: z.number() }),
  async handler(job, ctx) {
    await ctx.kv.set(['got', job.id], true);
  },
});
`;

let host: RunningHost | undefined;

afterAll(async () => {
  await host?.kill();
});

describe('kill -9', () => {
  it('loses no acknowledged write and no acknowledged job', async () => {
    const cgisDir = tempDir('cgihost-dur-cgis-');
    const dataDir = tempDir('cgihost-dur-data-');
    writeCgis(cgisDir, { 'd/kv.ts': '@platform/kv.ts', 'd/dur.ts': consumer });
    host = await startHost({ cgisDir, dataDir });
    const acked = { sets: new Map<number, number>(), sends: new Set<number>() };
    let killed = false;
    const stream = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        const id = worker * 100_000 + i;
        try {
          if (i % 2 === 0) {
            const res = await host!.post('kv', { op: 'set', key: ['w', id], value: id * 2 });
            if (res.status === 200) acked.sets.set(id, id * 2);
          } else {
            const res = await host!.post('kv', { op: 'send', topic: 'dur', payload: { id } });
            if (res.status === 200) acked.sends.add(id);
          }
        } catch {
          return; // the host is gone
        }
      }
    };
    const streams = Array.from({ length: 8 }, (_, w) => stream(w));
    await waitFor(() => acked.sets.size >= 150 && acked.sends.size >= 150, 30_000);
    await host.kill();
    killed = true;
    await Promise.all(streams);

    host = await startHost({ cgisDir, dataDir });
    const stored = new Map((await listAll(host, 'kv', { prefix: ['w'], limit: 1000 })).map((e) => [e.key[1] as number, e.value]));
    for (const [id, v] of acked.sets) expect(stored.get(id), `acknowledged set ${id}`).toBe(v);
    await waitFor(
      async () => {
        const got = new Set((await listAll(host!, 'kv', { prefix: ['got'], limit: 1000 })).map((e) => e.key[1] as number));
        return [...acked.sends].every((id) => got.has(id));
      },
      30_000,
      200,
    );
    console.log(`kill -9 with ${acked.sets.size} sets and ${acked.sends.size} sends acknowledged: all there after the restart`);
  }, 120_000);
});
