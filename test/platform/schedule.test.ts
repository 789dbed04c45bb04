/**
 * SPEC §8 schedules through a real host: a schedule runs on its cron (server
 * time zone), with its own ctx; never two runs of one schedule at once, also
 * across a hot reload in the middle of a run; the admin API lists it and runs
 * it on demand; a bad cron is refused at load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { cgiSummary } from '../helpers/index.js';
import { adminPost, kv, value } from './support.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: {
      'sch/kv.ts': '@platform/kv.ts',
      'sch/ticker.ts': '@platform/ticker.ts',
      'sch/badcron.ts': `import { defineSchedule } from 'cgihost';
export default defineSchedule({ apiVersion: 1, cron: '61 * * * *', handler() {} });`,
      'sch/sixfields.ts': `import { defineSchedule } from 'cgihost';
export default defineSchedule({ apiVersion: 1, cron: '*/5 * * * * *', handler() {} });`,
    },
  });
}, 60_000);

afterAll(async () => {
  await host?.kill();
});

const schedules = async () => (await host.get('/_host/api/schedules')).body.schedules as Array<Record<string, unknown>>;

describe('a schedule', () => {
  it('is listed with its cron and next run, and is not a CGI', async () => {
    const [s] = (await schedules()).filter((x) => x.name === 'ticker');
    expect(s).toMatchObject({ name: 'ticker', group: 'sch', cron: '* * * * *', state: 'ready', running: false });
    const next = s!.nextRunAt as number;
    expect(next % 60_000).toBe(0);
    expect(next).toBeGreaterThan(Date.now() - 1_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 60_000);
    expect((await host.post('ticker', {})).status).toBe(404);
    expect((await cgiSummary(host, 'ticker')).state).toBe('ready');
  });

  it('runs at its next minute, on its own, with ctx.scheduledAt the time it was due', async () => {
    const due = (await schedules()).find((x) => x.name === 'ticker')!.nextRunAt as number;
    // The run due then (a run of the minute before may end just after `due` was read: it is not the one awaited).
    const lastAt = async () => ((await value(host, 'kv', ['last'])) as { scheduledAt?: number } | null)?.scheduledAt ?? 0;
    await waitFor(async () => (await lastAt()) >= due, due - Date.now() + 15_000, 200);
    expect(await value(host, 'kv', ['last'])).toEqual({ scheduledAt: due, cron: '* * * * *' });
    // The run's end is stored just after its body returns (which wrote 'runs'): wait for that record.
    const s = (await waitFor(async () => {
      const t = (await schedules()).find((x) => x.name === 'ticker')!;
      return (t.lastStored as { ok?: boolean | null } | undefined)?.ok != null ? t : undefined;
    }, 15_000))!;
    expect(s.runs).toBeGreaterThanOrEqual(1);
    expect(s.last).toMatchObject({ scheduledAt: due, ok: true, manual: false });
    expect(s.lastStored).toMatchObject({ name: 'ticker', fireAt: due, ok: true });
  }, 90_000);

  it('is run on demand from the admin API; a second run while one is going on is refused, also across a hot reload', async () => {
    await kv(host, 'kv', { op: 'set', key: ['holdMs'], value: 4_000 });
    const runsBefore = ((await value(host, 'kv', ['runs'])) as number | null) ?? 0;
    const first = await adminPost(host, '/_host/api/schedules/ticker/run');
    expect(first.body).toEqual({ schedule: 'ticker', started: true });
    await waitFor(async () => (await value(host, 'kv', ['running'])) === 1, 5_000);
    const second = await adminPost(host, '/_host/api/schedules/ticker/run');
    expect(second.body).toEqual({ schedule: 'ticker', started: false, reason: 'a run is in progress' });
    // A new version while the old one runs: still no second run until the first has ended.
    const before = (await cgiSummary(host, 'ticker')).version;
    const file = `${host.cgisDir}/sch/ticker.ts`;
    writeFileSync(file, readFileSync(file, 'utf8') + '\n// v2\n');
    await waitFor(async () => (await cgiSummary(host, 'ticker')).version !== before, 10_000);
    // (Unless this machine took the whole hold to swap a file.)
    if ((await value(host, 'kv', ['running'])) === 1) {
      const third = await adminPost(host, '/_host/api/schedules/ticker/run');
      expect(third.body.started).toBe(false);
    }
    await waitFor(async () => (await value(host, 'kv', ['running'])) === 0, 10_000);
    await kv(host, 'kv', { op: 'set', key: ['holdMs'], value: 0 });
    const fourth = await adminPost(host, '/_host/api/schedules/ticker/run');
    expect(fourth.body.started).toBe(true);
    await waitFor(async () => (await value(host, 'kv', ['runs'])) === runsBefore + 2, 5_000);
    expect(await value(host, 'kv', ['overlaps'])).toBeNull();
    const s = (await schedules()).find((x) => x.name === 'ticker')!;
    expect(s.skipped).toBeGreaterThanOrEqual(1);
  });

  it('an unknown schedule or action is 404', async () => {
    expect((await adminPost(host, '/_host/api/schedules/nope/run')).status).toBe(404);
    expect((await adminPost(host, '/_host/api/schedules/ticker/jump')).status).toBe(404);
  });
});

describe('cron expressions', () => {
  it('a bad field or anything but 5 fields is refused at load, saying why', async () => {
    expect((await cgiSummary(host, 'badcron')).lastError?.message).toMatch(/cron "61 \* \* \* \*"/);
    expect((await cgiSummary(host, 'sixfields')).lastError?.message).toMatch(/must have 5 fields/);
    expect((await schedules()).map((s) => s.name)).toEqual(['ticker']);
  });
});
