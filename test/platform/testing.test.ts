/**
 * cgihost/testing for the CGI platform: an author tests a consumer and a
 * schedule without a server — deliver one payload, run once — and a CGI with
 * its consumer over the real queue, with the group's ctx.kv to look at.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlatform, type TestPlatform } from 'cgihost/testing';
import { FIXTURES } from '../helpers/index.js';

const fixture = (name: string) => join(FIXTURES, 'cgis/platform', name);
let t: TestPlatform;

beforeAll(async () => {
  t = await testPlatform({ queue: { backoffBaseMs: 10, backoffMaxMs: 20 }, env: { platform: { GREETING: 'hi' } } });
});

afterAll(async () => {
  await t?.close();
});

describe('a consumer, without a server', () => {
  it('deliver() runs the handler once on a payload and says how it ended', async () => {
    const flaky = await t.loadConsumer(fixture('flaky.ts'));
    expect(flaky.meta).toMatchObject({ kind: 'consumer', topic: 'flaky', maxAttempts: 3 });
    expect(await flaky.deliver({ id: 'a' })).toEqual({ ok: false, error: 'try 1 of a fails' });
    await t.kv('platform').set(['fixed', 'a'], true);
    expect(await flaky.deliver({ id: 'a' }, { attempt: 2 })).toEqual({ ok: true });
    expect((await t.kv('platform').get(['done', 'a']))?.value).toBe(2);
    const bad = await flaky.deliver({ nope: 1 });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/does not match the consumer's input/);
    await flaky.close();
  });

  it('over the real queue: a job sent is handled, retried, and dead-lettered after its attempts', async () => {
    const flaky = await t.loadConsumer(fixture('flaky.ts'));
    await t.queue.send('flaky', { id: 'q' });
    await t.queueIdle();
    expect((await t.kv('platform').get(['tries', 'q']))?.value).toBe(3);
    expect((await t.deadLetters('flaky')).map((d) => JSON.parse(d.payload))).toEqual([{ id: 'q' }]);
    await flaky.close();
  });
});

describe('a schedule, without a server or a clock', () => {
  it('run() runs it once; nextRuns() says when the cron would', async () => {
    const ticker = await t.loadSchedule(fixture('ticker.ts'));
    expect(ticker.meta).toMatchObject({ kind: 'schedule', cron: '* * * * *' });
    expect(await ticker.run(1_000_000)).toEqual({ ok: true });
    expect((await t.kv('platform').get(['last']))?.value).toEqual({ scheduledAt: 1_000_000, cron: '* * * * *' });
    const next = ticker.nextRuns(2);
    expect(next).toHaveLength(2);
    expect(next[1]!.getTime() - next[0]!.getTime()).toBe(60_000);
    await ticker.close();
  });
});

describe('a CGI and its consumer sharing one store', () => {
  it('a send from the CGI reaches the consumer; queueIdle() waits for it', async () => {
    const cgi = await t.loadCgi(fixture('kv.ts'));
    await t.loadConsumer(fixture('recorder.ts'));
    for (let n = 1; n <= 5; n++) {
      const res = await cgi.call({ op: 'send', topic: 'rec', payload: { n, key: 'only' }, jobKey: 'only' });
      expect(res.status).toBe(200);
    }
    await t.queueIdle();
    expect((await t.kv('platform').get(['last', 'only']))?.value).toBe(5);
    expect(await t.kv('platform').get(['outOfOrder'])).toBeNull();
  });

  it('ctx.metrics and ctx.env of the group', async () => {
    const biz = await t.loadCgi(fixture('biz.ts'));
    await biz.call({ kind: 'counter', name: 'hits', n: 3, labels: { a: 'b' } });
    await biz.call({ kind: 'gauge', name: 'level', value: 7 });
    // The worker reports its metrics once per event-loop turn, beside its answers.
    await expect.poll(() => t.metric('platform', 'hits', { a: 'b' })).toBe(3);
    await expect.poll(() => t.metric('platform', 'level')).toBe(7);
    const env = await t.loadCgi(fixture('env.ts'));
    expect((await env.call({})).body).toEqual({ group: 'platform', env: { GREETING: 'hi' } });
  });
});
