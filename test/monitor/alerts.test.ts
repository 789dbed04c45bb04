/**
 * Alerts: a rule of host.config.json fires once its condition has held for
 * forSeconds, and resolves when it clears; every firing is logged with an
 * `alert` field, kept for the admin API, and POSTed to the webhooks
 * subscribed to 'alert' through the store's queue.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRuleSchema } from '../../src/config/schema.js';
import { Alerts, type AlertEvent } from '../../src/monitor/alerts.js';
import { createLogger } from '../../src/log.js';
import { CGIS } from './support.js';
import { type RunningHost, startHost, waitFor } from '../helpers/index.js';

describe('Alerts (the rule engine, with a fake clock)', () => {
  const setup = (rule: Record<string, unknown>) => {
    let now = 1_000_000;
    const lines: Array<Record<string, unknown>> = [];
    const emitted: AlertEvent[] = [];
    const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
    const alerts = new Alerts([AlertRuleSchema.parse(rule)], {
      log,
      now: () => now,
      emit: async (_e, p) => void emitted.push(structuredClone(p)),
    });
    return { alerts, lines, emitted, advance: (ms: number) => (now += ms) };
  };

  it('fires once after forSeconds of holding, then resolves', () => {
    const { alerts, lines, emitted, advance } = setup({ name: 'slow', metric: 'p99_ms', target: 'sync', threshold: 100, forSeconds: 3 });
    const at = (v: number | null) => alerts.evaluate(() => new Map([['sync', v]]));
    at(150);
    advance(2_000);
    at(150);
    expect(alerts.active()).toEqual([]);
    advance(1_000);
    at(180);
    advance(1_000);
    at(190);
    expect(alerts.active()).toHaveLength(1);
    expect(alerts.active()[0]).toMatchObject({ alert: 'slow', status: 'firing', target: 'sync', value: 190, since: 1_000_000 });
    expect(emitted.map((e) => e.status)).toEqual(['firing']);
    expect(emitted[0]).toMatchObject({ alert: 'slow', metric: 'p99_ms', value: 180, threshold: 100, forSeconds: 3 });
    at(50);
    expect(alerts.active()).toEqual([]);
    expect(emitted.map((e) => e.status)).toEqual(['firing', 'resolved']);
    expect(alerts.recent().map((e) => [e.status, e.value])).toEqual([
      ['resolved', 50],
      ['firing', 180],
    ]);
    expect(lines.filter((l) => l.alert === 'slow').map((l) => l.level)).toEqual(['error', 'info']);
  });

  it('a condition that clears before forSeconds never fires', () => {
    const { alerts, emitted, advance } = setup({ name: 'errs', metric: 'error_rate', threshold: 0.1, forSeconds: 5 });
    alerts.evaluate(() => new Map([['a', 0.5]]));
    advance(4_000);
    alerts.evaluate(() => new Map([['a', 0]]));
    advance(4_000);
    alerts.evaluate(() => new Map([['a', 0.5]]));
    expect(emitted).toEqual([]);
  });

  it('"*" rules judge each target apart; one that disappears resolves', () => {
    const { alerts, emitted } = setup({ name: 'q', metric: 'quarantined', target: '*', forSeconds: 0 });
    alerts.evaluate(
      () =>
        new Map([
          ['a', 1],
          ['b', 0],
        ]),
    );
    expect(alerts.active().map((a) => a.target)).toEqual(['a']);
    alerts.evaluate(() => new Map([['b', 1]]));
    expect(emitted.map((e) => `${e.target}:${e.status}`)).toEqual(['a:firing', 'b:firing', 'a:resolved']);
  });

  it('host alerts are logged and emitted once; a failing emit is only a warning', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) });
    const alerts = new Alerts([], { log, emit: () => Promise.reject(new Error('store closed')) });
    alerts.raise('canary_rolled_back', { cgi: 'sendmsg', version: 'abc', why: 'canary 5xx rate 40%' });
    expect(alerts.recent()[0]).toMatchObject({
      alert: 'canary_rolled_back',
      source: 'host',
      target: 'sendmsg',
      summary: expect.stringContaining('canary 5xx rate 40%'),
    });
    expect(lines[0]).toMatchObject({ level: 'error', alert: 'canary_rolled_back', cgi: 'sendmsg', version: 'abc' });
    return waitFor(() => lines.some((l) => l.level === 'warn' && l.alert === 'canary_rolled_back'));
  });
});

describe('an error_rate rule over a real host, delivered to a webhook', () => {
  const SECRET = 'webhook-secret-1';
  const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
  let receiver: Server;
  let host: RunningHost;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    host = await startHost({
      files: { 'demo/ok.ts': CGIS['demo/ok.ts'], 'demo/fail.ts': CGIS['demo/fail.ts'] },
      config: {
        watch: false,
        alerts: [
          { name: 'fail_errors', metric: 'error_rate', target: 'fail', threshold: 0.5, forSeconds: 0 },
          { name: 'ok_errors', metric: 'error_rate', target: 'ok', threshold: 0.5, forSeconds: 0 },
        ],
        webhooks: [{ url: `http://127.0.0.1:${port}/hook`, events: ['alert'], secret: SECRET }],
      },
    });
  });

  afterAll(async () => {
    await host?.kill();
    receiver?.close();
  });

  it('fires: in the overview, the alerts API, the log, and at the webhook (signed)', async () => {
    for (let i = 0; i < 3; i++) expect((await host.post('fail', {})).status).toBe(500);
    expect((await host.post('ok', { text: 'fine' })).status).toBe(200);

    const ov = await waitFor(
      async () => {
        const b = (await host.get('/_host/api/overview')).body;
        return b.alerts.active.length ? b : undefined;
      },
      5_000,
      100,
    );
    expect(ov.alerts.active).toHaveLength(1);
    expect(ov.alerts.active[0]).toMatchObject({
      alert: 'fail_errors',
      status: 'firing',
      target: 'fail',
      metric: 'error_rate',
      value: 1,
      threshold: 0.5,
    });
    expect(ov.alerts.recent[0]).toMatchObject({ alert: 'fail_errors', status: 'firing' });
    const api = (await host.get('/_host/api/alerts')).body;
    expect(api.rules.map((r: { name: string }) => r.name)).toEqual(['fail_errors', 'ok_errors']);
    expect(api.active[0].alert).toBe('fail_errors');

    const logged = host
      .output()
      .split('\n')
      .filter((l) => l.includes('"alert":"fail_errors"'))
      .map((l) => JSON.parse(l));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'error', alert: 'fail_errors', status: 'firing', target: 'fail' });

    const hit = (await waitFor(() => received.find((r) => r.body.includes('fail_errors')), 10_000, 50))!;
    expect(hit.headers['x-cgihost-event']).toBe('alert');
    expect(hit.headers['x-cgihost-signature']).toBe('sha256=' + createHmac('sha256', SECRET).update(hit.body).digest('hex'));
    const body = JSON.parse(hit.body);
    expect(body).toMatchObject({ event: 'alert', data: { alert: 'fail_errors', status: 'firing', target: 'fail', value: 1 } });
    expect(received.filter((r) => r.body.includes('ok_errors'))).toEqual([]);
  });
});
