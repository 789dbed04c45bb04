/**
 * SPEC §8 ctx.queue through a real host: a consumer's failures retried with
 * backoff then dead-lettered, and a dead letter retried from the admin API;
 * jobs with the same key one at a time and in order (while other jobs run
 * side by side); atomic().enqueue in the transaction of its writes; delays;
 * payloads that fail the consumer's input; what may not be a consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, writeCgis, type RunningHost } from '../helpers/index.js';
import { cgiSummary } from '../helpers/index.js';
import { adminPost, kv, topic, value } from './support.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: {
      'q/kv.ts': '@platform/kv.ts',
      'q/flaky.ts': '@platform/flaky.ts',
      'q/recorder.ts': '@platform/recorder.ts',
      'q/late.ts': '@platform/late.ts',
      // A consumer of the host's own topic: refused.
      'zz/thief.ts': `import { defineConsumer, z } from 'cgihost';
export default defineConsumer({ apiVersion: 1, topic: 'fanout', input: z.any(), handler() {} });`,
    },
    config: { queue: { backoffBaseMs: 50, backoffMaxMs: 200 }, cgis: { flaky: { timeoutMs: 500 }, late: { timeoutMs: 500 } } },
  });
}, 60_000);

afterAll(async () => {
  await host?.kill();
});

const send = (topicName: string, payload: unknown, opts: { jobKey?: string; delayMs?: number } = {}) =>
  kv(host, 'kv', { op: 'send', topic: topicName, payload, ...opts });

describe('retries, dead letters, and a retry from the admin API', () => {
  it('a failing job is tried maxAttempts times with backoff, then dead-lettered with its last error', async () => {
    const { jobId } = (await send('flaky', { id: 'x' })).body;
    expect(jobId).toMatch(/^j[0-9a-z]+$/);
    await waitFor(async () => (await topic(host, 'flaky'))?.deadLetters === 1, 10_000);
    expect(await value(host, 'kv', ['tries', 'x'])).toBe(3);
    const t = (await topic(host, 'flaky'))!;
    expect(t).toMatchObject({ depth: 0, retries: 2, deadLetters: 1, consumer: { name: 'flaky', state: 'ready' } });
    const dead = await host.get('/_host/api/queue/dead?topic=flaky');
    expect(dead.status).toBe(200);
    expect(dead.body.deadLetters).toHaveLength(1);
    expect(dead.body.deadLetters[0]).toMatchObject({ jobId, topic: 'flaky', attempts: 3, error: 'try 3 of x fails' });
    expect(JSON.parse(dead.body.deadLetters[0].payload)).toEqual({ id: 'x' });
    expect(host.output()).toMatch(/consumer job dead-lettered/);
  });

  it('fixed, the dead letter retried from the admin API runs again from attempt 1 and is done', async () => {
    const { jobId } = (await host.get('/_host/api/queue/dead?topic=flaky')).body.deadLetters[0];
    await kv(host, 'kv', { op: 'set', key: ['fixed', 'x'], value: true });
    const res = await adminPost(host, '/_host/api/queue/dead/' + jobId + '/retry');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ retried: true, jobId, topic: 'flaky' });
    await waitFor(async () => (await value(host, 'kv', ['done', 'x'])) !== null, 5_000);
    expect(await value(host, 'kv', ['done', 'x'])).toBe(1);
    expect(await value(host, 'kv', ['tries', 'x'])).toBe(4);
    expect((await topic(host, 'flaky'))!.deadLetters).toBe(0);
    // Not a dead letter any more: 404, as for an unknown job.
    const again = await adminPost(host, '/_host/api/queue/dead/' + jobId + '/retry');
    expect([again.status, again.body.error.code]).toEqual([404, 'NO_SUCH_JOB']);
    const unknown = await adminPost(host, '/_host/api/queue/dead/jzzzz/retry');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'NO_SUCH_JOB']);
    const junk = await adminPost(host, '/_host/api/queue/dead/%00/retry');
    expect(junk.status).toBe(404);
  });

  it('a try that hangs past the consumer timeout fails like a throw, and is retried', async () => {
    await send('flaky', { id: 'h', hang: true });
    await waitFor(async () => (await value(host, 'kv', ['tries', 'h'])) === 3, 15_000);
    await waitFor(async () => (await topic(host, 'flaky'))?.deadLetters === 1, 5_000);
    const dead = (await host.get('/_host/api/queue/dead?topic=flaky')).body.deadLetters[0];
    expect(dead.error).toMatch(/timed out after 500 ms/);
  }, 40_000);

  it('an answer from a try that timed out does not end the next try of the job (each try answers for itself)', async () => {
    await send('late', { id: 'l' });
    // Try 1 answers success while try 2 runs; tries 2 and 3 never end: the job is dead-lettered on timeouts.
    await waitFor(async () => (await value(host, 'kv', ['late', 'l', 'answered'])) === true, 15_000);
    await waitFor(async () => (await topic(host, 'late'))?.deadLetters === 1, 15_000);
    const dead = (await host.get('/_host/api/queue/dead?topic=late')).body.deadLetters[0];
    expect([dead.attempts, dead.error]).toEqual([3, expect.stringMatching(/timed out after 500 ms/)]);
    expect(await value(host, 'kv', ['late', 'l', 'started'])).toBe(3);
  }, 40_000);

  it('a payload that fails the consumer input is dead-lettered at once (no retry can mend it)', async () => {
    const before = (await topic(host, 'flaky'))!.deadLetters;
    await send('flaky', { wrong: 'shape' });
    await waitFor(async () => (await topic(host, 'flaky'))?.deadLetters === before + 1, 5_000);
    const dead = (await host.get('/_host/api/queue/dead?topic=flaky&limit=1')).body;
    expect(dead.deadLetters[0]).toMatchObject({ attempts: 1 });
    expect(dead.deadLetters[0].error).toMatch(/does not match the consumer's input/);
    expect(typeof dead.next).toBe('string');
  });
});

describe('ordering by key', () => {
  it('jobs with the same key run one at a time, in the order sent, while jobs without a key run side by side', async () => {
    const sends: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 12; n++) {
      for (const key of ['k1', 'k2', 'k3', 'k4']) sends.push(send('rec', { n, key, sleepMs: (n * 7) % 20 }, { jobKey: key }));
    }
    for (let n = 1; n <= 16; n++) sends.push(send('rec', { n, sleepMs: 150 }));
    await Promise.all(sends);
    await waitFor(async () => (await value(host, 'kv', ['handled'])) === 64, 30_000, 100);
    expect(await value(host, 'kv', ['outOfOrder'])).toBeNull();
    expect(await value(host, 'kv', ['overlaps'])).toBeNull();
    for (const key of ['k1', 'k2', 'k3', 'k4']) expect(await value(host, 'kv', ['last', key])).toBe(12);
    // The consumer's concurrency (8) was used: ordering by key is not everything running one by one.
    expect(await value(host, 'kv', ['peak'])).toBeGreaterThan(1);
  }, 60_000);
});

describe('atomic().enqueue and delays', () => {
  it('a job enqueued with writes is handled, and sees those writes', async () => {
    const res = await kv(host, 'kv', {
      op: 'atomic',
      atomic: { sets: [{ key: ['payload', 100], value: 'written with the job' }], enqueues: [{ topic: 'rec', payload: { n: 100 } }] },
    });
    expect(res.body.ok).toBe(true);
    await waitFor(async () => (await value(host, 'kv', ['seen', '-', 100])) !== null, 5_000);
    expect(await value(host, 'kv', ['payload', 100])).toBe('written with the job');
  });

  it('a job sent with delayMs does not run before its time', async () => {
    const t0 = Date.now();
    await send('rec', { n: 200 }, { delayMs: 1_500 });
    await new Promise((r) => setTimeout(r, 500));
    // However slow the machine, a delayed job cannot have run early.
    if (Date.now() - t0 < 1_400) expect(await value(host, 'kv', ['seen', '-', 200])).toBeNull();
    await waitFor(async () => (await value(host, 'kv', ['seen', '-', 200])) !== null, 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
  });
});

describe('what may not be a consumer', () => {
  it('a second consumer of a topic is refused, naming the first; so is a consumer of the host’s own topic', async () => {
    writeCgis(host.cgisDir, { 'zz/rival.ts': '@platform/recorder.ts' });
    await waitFor(async () => (await cgiSummary(host, 'rival').catch(() => null))?.lastError, 10_000);
    const rival = await cgiSummary(host, 'rival');
    expect(rival.lastError?.message).toMatch(/topic "rec" already has a consumer: recorder/);
    const thief = await cgiSummary(host, 'thief');
    expect(thief.lastError?.message).toMatch(/topic "fanout" is the host's own/);
    // Neither is reachable over HTTP, and neither was ever a CGI.
    expect((await host.post('recorder', {})).status).toBe(404);
  });
});
