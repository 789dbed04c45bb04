/**
 * SPEC §5 Faults: what a CGI does reaches only its own in-flight requests.
 * Each fault has its own fixture; after each, a CGI next door still answers
 * and the faulty one answers again once its worker is replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEX12, timed } from './support.js';
import { type ApiResponse, cgiSummary, expectError, type RunningHost, sleep, startHost, waitFor } from '../helpers/index.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: {
      'basic/echo.ts': '@basic/echo.ts',
      'faults/exits.ts': '@faults/exits.ts',
      // The same fixture under another name: its crashes are counted apart.
      'faults/exits_storm.ts': '@faults/exits.ts',
      'faults/loops.ts': '@faults/loops.ts',
      'slow/slow.ts': '@slow/slow.ts',
      'faults/stackoverflow.ts': '@faults/stackoverflow.ts',
      'faults/background_throw.ts': '@faults/background_throw.ts',
      'faults/unhandled_rejection.ts': '@faults/unhandled_rejection.ts',
    },
    // Quarantine has its own test file; here a crash is always followed by a replacement.
    config: { watch: false, cgis: { slow: { timeoutMs: 300 } }, faults: { crashLimit: 1000, heartbeatMs: 25 } },
  });
});

afterAll(async () => {
  await host?.kill();
});

async function echoStillAnswers(): Promise<void> {
  const res = await host.post('echo', { text: 'next door' });
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ echo: 'next door' });
}

describe('process.exit in a handler', () => {
  it('fails its request with 502 CGI_CRASHED', async () => {
    const res = await host.post('exits', { exit: true });
    expectError(res, 502, 'CGI_CRASHED');
    expect(res.text).not.toContain('exit');
  });

  it('leaves echo answering', echoStillAnswers);

  it('is replaced: the CGI answers again, and the restart is counted', async () => {
    const res = await host.post('exits', { exit: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers.get('x-cgi-version')).toMatch(HEX12);
    const s = await cgiSummary(host, 'exits');
    expect(s.restarts).toBe(1);
    expect(s.state).toBe('ready');
  });
});

describe('a worker that dies with several requests in flight', () => {
  it('fails every one of them with 502, and nothing else', async () => {
    const before = (await cgiSummary(host, 'exits')).restarts;
    const doomed = host.post('exits', { exit: false, delayMs: 2_000 });
    const killer = host.post('exits', { exit: true, delayMs: 200 });
    const bystander = host.post('echo', { text: 'bystander' });
    const [a, b, c] = await Promise.all([doomed, killer, bystander]);
    expectError(a, 502, 'CGI_CRASHED');
    expectError(b, 502, 'CGI_CRASHED');
    expect(c.status).toBe(200);
    const again = await host.post('exits', { exit: false });
    expect(again.status).toBe(200);
    expect((await cgiSummary(host, 'exits')).restarts).toBe(before + 1);
  });
});

describe('an async handler past its timeoutMs (config cgis.slow.timeoutMs: 300)', () => {
  it('gets 504 CGI_TIMEOUT at the timeout', async () => {
    const { value: res, ms } = await timed(() => host.post('slow', { ms: 3_000 }));
    expectError(res, 504, 'CGI_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(2_000);
  });

  it('keeps its worker, whose event loop is fine: no restart, and it answers', async () => {
    const res = await host.post('slow', { ms: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ slept: 1 });
    expect((await cgiSummary(host, 'slow')).restarts).toBe(0);
  });
});

describe('a synchronous infinite loop (timeoutMs: 500)', () => {
  it('gets 504 CGI_TIMEOUT at its timeout, while echo answers fast meanwhile', async () => {
    const loop = timed(() => host.post('loops', { loop: true }));
    let loopSettled = false;
    void loop.then(() => (loopSettled = true));
    // Give the loop a head start so the worker is surely spinning.
    await waitFor(async () => (await cgiSummary(host, 'loops')).inflight === 1, 2_000, 10);
    const echo = await timed(() => host.post('echo', { text: 'during the loop' }));
    expect(echo.value.status).toBe(200);
    expect(echo.ms).toBeLessThan(400);
    expect(loopSettled).toBe(false);
    const { value: res, ms } = await loop;
    expectError(res, 504, 'CGI_TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(2_500);
  });

  it('leaves echo answering', echoStillAnswers);

  it('has its stuck worker terminated and replaced: a request that does not loop answers', async () => {
    // A stuck worker left in place would make this one time out too (504).
    const res = await host.post('loops', { loop: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    await waitFor(async () => (await cgiSummary(host, 'loops')).restarts === 1, 3_000);
  });
});

describe('stack overflow', () => {
  it('is a 500 INTERNAL, and the same worker serves the next request', async () => {
    const ok = await host.post('stackoverflow', { deep: false });
    expect(ok.status).toBe(200);
    const version = ok.headers.get('x-cgi-version');
    const res = await host.post('stackoverflow', { deep: true });
    expectError(res, 500, 'INTERNAL');
    expect(res.text).not.toMatch(/stack|RangeError/i);
    const next = await host.post('stackoverflow', { deep: false });
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ n: 0 });
    expect(next.headers.get('x-cgi-version')).toBe(version);
    expect((await cgiSummary(host, 'stackoverflow')).restarts).toBe(0);
  });

  it('leaves echo answering', echoStillAnswers);
});

describe('a throw from a timer after the answer', () => {
  it('does not touch the request that caused it (200)', async () => {
    const res = await host.post('background_throw', { fail: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('ends that worker, which is replaced; later requests succeed', async () => {
    await waitFor(async () => (await cgiSummary(host, 'background_throw')).restarts >= 1, 3_000);
    const res = await host.post('background_throw', { fail: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect((await cgiSummary(host, 'background_throw')).state).toBe('ready');
  });

  it('leaves echo answering', echoStillAnswers);
});

describe('an unhandled rejection after the answer', () => {
  it('does not touch the request that caused it (200)', async () => {
    const res = await host.post('unhandled_rejection', { fail: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('ends that worker, which is replaced; later requests succeed', async () => {
    await waitFor(async () => (await cgiSummary(host, 'unhandled_rejection')).restarts >= 1, 3_000);
    const res = await host.post('unhandled_rejection', { fail: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });

  it('leaves echo answering', echoStillAnswers);
});

describe('a storm of crashing requests beside echo', () => {
  it('settles every request: the crashing CGI with 502 or 503, echo always 200', async () => {
    const calls: Array<Promise<{ cgi: string; res: ApiResponse }>> = [];
    // Four waves, so that some requests arrive while the worker is dead and wait for its replacement.
    for (let i = 0; i < 40; i++) {
      // The pause between waves is the point: it spreads the arrivals over the worker's deaths and restarts.
      if (i % 10 === 0 && i > 0) await sleep(30);
      calls.push(host.post('exits_storm', { exit: true }).then((res) => ({ cgi: 'exits_storm', res })));
      calls.push(host.post('echo', { text: `e${i}` }).then((res) => ({ cgi: 'echo', res })));
    }
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('some request did not settle within 15 s')), 15_000);
    });
    const results = await Promise.race([Promise.all(calls), hung]).finally(() => clearTimeout(timer));
    const echo = results.filter((r) => r.cgi === 'echo');
    expect(echo.map((r) => r.res.status)).toEqual(Array(40).fill(200));
    echo.forEach((r, i) => expect(r.res.body).toEqual({ echo: `e${i}` }));
    for (const r of results.filter((x) => x.cgi === 'exits_storm')) {
      expect([502, 503]).toContain(r.res.status);
      expect(r.res.body.error.code).toBe(r.res.status === 502 ? 'CGI_CRASHED' : 'CGI_UNAVAILABLE');
    }
    expect(results.filter((r) => r.cgi === 'exits_storm' && r.res.status === 502).length).toBeGreaterThan(0);
  });

  it('leaves the crashing CGI serving again afterwards', async () => {
    const res = await waitFor(async () => {
      const r = await host.post('exits_storm', { exit: false });
      return r.status === 200 ? r : undefined;
    }, 5_000);
    expect(res!.body).toEqual({ ok: true });
  });

  it('leaves echo answering', echoStillAnswers);
});
