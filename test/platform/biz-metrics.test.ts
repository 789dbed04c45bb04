/**
 * SPEC §8 ctx.metrics through a real host: counters, gauges and histograms on
 * /metrics as cgihost_biz_<group>_<name> with their labels; at most 100 label
 * sets per metric, the rest dropped and counted; the admin API; `biz` alert
 * rules on a counter's rate and a gauge's value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost } from '../helpers/index.js';
import { scrape, value as sample } from '../helpers/index.js';

let host: RunningHost;

beforeAll(async () => {
  host = await startHost({
    files: { 'shop/biz.ts': '@platform/biz.ts', 'shop-eu/bizeu.ts': '@platform/biz.ts' },
    config: {
      watch: false,
      alerts: [
        { name: 'orders_fast', metric: 'biz', target: 'shop.orders', threshold: 0.5, forSeconds: 0 },
        { name: 'backlog_high', metric: 'biz', target: 'shop.backlog', threshold: 10, forSeconds: 0 },
      ],
    },
  });
});

afterAll(async () => {
  await host?.kill();
});

const biz = (body: Record<string, unknown>, cgi = 'biz') => host.post(cgi, body);

describe('ctx.metrics on /metrics', () => {
  it('counters, gauges and histograms, by group and name, with their labels', async () => {
    expect((await biz({ kind: 'counter', name: 'orders', labels: { pay: 'card' }, n: 3 })).status).toBe(200);
    await biz({ kind: 'counter', name: 'orders', labels: { pay: 'cash' }, value: 2.5 });
    await biz({ kind: 'gauge', name: 'stock', value: 42 });
    await biz({ kind: 'gauge', name: 'stock', value: 40 });
    for (const v of [0.003, 0.2, 7, 300]) await biz({ kind: 'histogram', name: 'basket', value: v });
    await biz({ kind: 'counter', name: 'orders', n: 1 }, 'bizeu');
    const m = (await waitFor(async () => {
      const s = await scrape(host);
      return sample(s, 'cgihost_biz_shop_basket_count') === 4 ? s : undefined;
    }))!;
    expect(sample(m, 'cgihost_biz_shop_orders', { pay: 'card' })).toBe(3);
    expect(sample(m, 'cgihost_biz_shop_orders', { pay: 'cash' })).toBe(2.5);
    expect(sample(m, 'cgihost_biz_shop_stock')).toBe(40);
    expect(sample(m, 'cgihost_biz_shop_basket_bucket', { le: '0.005' })).toBe(1);
    expect(sample(m, 'cgihost_biz_shop_basket_bucket', { le: '250' })).toBe(3);
    expect(sample(m, 'cgihost_biz_shop_basket_bucket', { le: '+Inf' })).toBe(4);
    expect(sample(m, 'cgihost_biz_shop_basket_sum')).toBeCloseTo(307.203);
    // A group with a character Prometheus names cannot hold: it becomes _.
    expect(sample(m, 'cgihost_biz_shop_eu_orders')).toBe(1);
    const text = (await host.get('/metrics')).text;
    expect(text).toContain('# TYPE cgihost_biz_shop_orders counter');
    expect(text).toContain('# TYPE cgihost_biz_shop_stock gauge');
    expect(text).toContain('# TYPE cgihost_biz_shop_basket histogram');
  });

  it('keeps at most 100 label sets per metric; updates of more are dropped and counted', async () => {
    await biz({ kind: 'counter', name: 'wide', n: 130, spread: true });
    const m = (await waitFor(async () => {
      const s = await scrape(host);
      return sample(s, 'cgihost_biz_dropped_series_total', { group: 'shop', metric: 'wide' }) === 30 ? s : undefined;
    }))!;
    expect(m.filter((x) => x.name === 'cgihost_biz_shop_wide')).toHaveLength(100);
    // Label sets already kept still count.
    await biz({ kind: 'counter', name: 'wide', labels: { i: '5' } });
    await waitFor(async () => sample(await scrape(host), 'cgihost_biz_shop_wide', { i: '5' }) === 2);
    expect(host.output()).toMatch(/wide has 100 label sets/);
  });

  it('a metric keeps its first kind; updates of another are dropped and counted', async () => {
    await biz({ kind: 'counter', name: 'mixed' });
    await biz({ kind: 'gauge', name: 'mixed', value: 9 });
    await waitFor(async () => sample(await scrape(host), 'cgihost_biz_dropped_series_total', { metric: 'mixed' }) === 1);
    expect(sample(await scrape(host), 'cgihost_biz_shop_mixed')).toBe(1);
  });

  it('a bad name or label is the CGI’s error: 400 INVALID_INPUT', async () => {
    for (const body of [
      { kind: 'counter', name: 'Bad-Name' },
      { kind: 'counter', name: 'ok', labels: { 'bad-label': 'x' } },
      { kind: 'counter', name: 'ok', value: -1 },
    ]) {
      const res = await biz(body);
      expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([400, 'INVALID_INPUT']);
    }
  });

  it('the admin API lists each metric with its kind, series, rate and drops', async () => {
    const res = await host.get('/_host/api/biz');
    const orders = res.body.metrics.find((m: { group: string; name: string }) => m.group === 'shop' && m.name === 'orders');
    expect(orders).toMatchObject({ kind: 'counter', dropped: 0 });
    expect(orders.series).toEqual(
      expect.arrayContaining([
        { labels: { pay: 'card' }, value: 3 },
        { labels: { pay: 'cash' }, value: 2.5 },
      ]),
    );
  });
});

describe('biz alert rules', () => {
  it('fire on a counter’s rate per second over the last minute, and on a gauge’s value; resolve when it clears', async () => {
    expect((await biz({ kind: 'counter', name: 'orders', n: 500 })).status).toBe(200);
    expect((await biz({ kind: 'gauge', name: 'backlog', value: 50 })).status).toBe(200);
    const firing = (await waitFor(async () => {
      const a = (await host.get('/_host/api/alerts')).body.active as Array<{ alert: string; target: string; value: number }>;
      // Only these two rules matter here: a default rule (latency, event-loop lag) may also fire on a loaded machine.
      const ours = a.filter((x) => x.alert === 'orders_fast' || x.alert === 'backlog_high');
      return ours.length === 2 ? ours : undefined;
    }, 20_000).catch(async (e) => {
      // What the host saw, for a failure that only a loaded run has shown.
      const alerts = (await host.get('/_host/api/alerts')).text;
      const metrics = (await host.get('/_host/api/biz')).text;
      throw new Error(`${e}\nalerts: ${alerts}\nbiz: ${metrics}\nhost output (end):\n${host.output().slice(-4000)}`);
    }))!;
    expect(firing.find((a) => a.alert === 'orders_fast')).toMatchObject({ target: 'shop.orders' });
    expect(firing.find((a) => a.alert === 'orders_fast')!.value).toBeGreaterThan(0.5);
    expect(firing.find((a) => a.alert === 'backlog_high')).toMatchObject({
      target: 'shop.backlog',
      value: 50,
      summary: 'shop.backlog 50 > 10 [backlog_high]',
    });
    expect((firing.find((a) => a.alert === 'orders_fast') as unknown as { summary: string }).summary).toMatch(
      /^shop\.orders \d+(\.\d{1,3})? > 0\.5 \[orders_fast\]$/,
    );
    await biz({ kind: 'gauge', name: 'backlog', value: 3 });
    await waitFor(async () => {
      const a = (await host.get('/_host/api/alerts')).body.active as Array<{ alert: string }>;
      return !a.some((x) => x.alert === 'backlog_high');
    }, 10_000);
    expect(host.output()).toMatch(/"alert":"backlog_high"/);
  }, 60_000);
});
