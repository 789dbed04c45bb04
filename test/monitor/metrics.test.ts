/**
 * SPEC §5 metrics: the named series appear in /metrics and move with
 * requests, errors, crashes and quarantine; with metrics off the request
 * series are gone and the rest still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGIS } from './support.js';
import { type RunningHost, scrape, startHost, value, waitFor } from '../helpers/index.js';

const SPEC_SERIES = [
  'cgihost_requests_total',
  'cgihost_request_duration_seconds',
  'cgihost_worker_restarts_total',
  'cgihost_queue_depth',
  'cgihost_queue_lag_seconds',
  'cgihost_sync_waiters',
];

let host: RunningHost;
let off: RunningHost;

beforeAll(async () => {
  [host, off] = await Promise.all([
    startHost({
      files: CGIS,
      config: { watch: false, faults: { crashLimit: 2, crashWindowMs: 10_000, probeInitialMs: 60_000, heartbeatMs: 25 } },
    }),
    startHost({ files: CGIS, config: { watch: false, metrics: { enabled: false } } }),
  ]);
});

afterAll(async () => {
  await Promise.all([host?.kill(), off?.kill()]);
});

describe('GET /metrics (metrics on)', () => {
  it('is Prometheus text with every series SPEC §5 names', async () => {
    const res = await host.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of SPEC_SERIES) expect(res.text).toContain(`# TYPE ${name} `);
    expect(res.text).toContain('# TYPE cgihost_request_duration_seconds histogram');
  });

  it('cgihost_requests_total counts by cgi, version and code', async () => {
    const ok = await host.post('ok', { text: 'hi' });
    expect(ok.status).toBe(200);
    for (let i = 0; i < 2; i++) await host.post('ok', { text: 'hi' });
    const fails = [await host.post('fail', {}), await host.post('fail', {})];
    expect(fails.map((r) => r.status)).toEqual([500, 500]);
    const m = await scrape(host);
    const okVersion = ok.headers.get('x-cgi-version')!;
    expect(value(m, 'cgihost_requests_total', { cgi: 'ok', version: okVersion, code: 'OK' })).toBe(3);
    expect(value(m, 'cgihost_requests_total', { cgi: 'fail', version: fails[0]!.headers.get('x-cgi-version')!, code: 'INTERNAL' })).toBe(2);
  });

  it('the duration histogram counts every request of the CGI', async () => {
    const m = await scrape(host);
    expect(value(m, 'cgihost_request_duration_seconds_count', { cgi: 'ok' })).toBe(3);
    expect(value(m, 'cgihost_request_duration_seconds_bucket', { cgi: 'ok', le: '+Inf' })).toBe(3);
    expect(value(m, 'cgihost_request_duration_seconds_bucket', { cgi: 'ok', le: '30' })).toBe(3);
    expect(value(m, 'cgihost_request_duration_seconds_sum', { cgi: 'ok' })).toBeGreaterThan(0);
  });

  it('a crashing CGI: worker restarts by reason, then the quarantine gauge and a host alert', async () => {
    expect(value(await scrape(host), 'cgihost_cgi_quarantined', { cgi: 'crash' })).toBe(0);
    for (let i = 0; i < 2; i++) expect((await host.post('crash', {})).body?.error?.code).toBe('CGI_CRASHED');
    const m = (await waitFor(async () => {
      const s = await scrape(host);
      return value(s, 'cgihost_cgi_quarantined', { cgi: 'crash' }) === 1 ? s : undefined;
    }))!;
    expect(value(m, 'cgihost_worker_restarts_total', { cgi: 'crash', reason: 'exit' })).toBe(2);
    expect(value(m, 'cgihost_cgi_state', { cgi: 'crash', state: 'quarantined' })).toBe(1);
    expect(value(m, 'cgihost_cgi_state', { cgi: 'ok', state: 'ready' })).toBe(1);
    expect(value(m, 'cgihost_requests_total', { cgi: 'crash', code: 'CGI_CRASHED' })).toBe(2);
    // Turned away without a version: counted under version "none".
    expect((await host.post('crash', {})).status).toBe(503);
    expect(value(await scrape(host), 'cgihost_requests_total', { cgi: 'crash', version: 'none', code: 'CGI_UNAVAILABLE' })).toBe(1);
    const ov = (await host.get('/_host/api/overview')).body;
    expect(ov.alerts.recent.find((a: { alert: string }) => a.alert === 'cgi_quarantined')).toMatchObject({
      target: 'crash',
      source: 'host',
      status: 'firing',
    });
    expect(host.output()).toMatch(/"level":"error".*"alert":"cgi_quarantined"/);
  });

  it('per-CGI gauges: workers, memory, in flight, canary percent, main event loop', async () => {
    const m = await scrape(host);
    expect(value(m, 'cgihost_cgi_workers', { cgi: 'ok' })).toBe(1);
    expect(value(m, 'cgihost_worker_heap_bytes', { cgi: 'ok' })).toBeGreaterThan(1e6);
    expect(value(m, 'cgihost_worker_external_bytes', { cgi: 'ok' })).toBeGreaterThan(0);
    expect(value(m, 'cgihost_cgi_inflight_requests', { cgi: 'ok' })).toBe(0);
    expect(value(m, 'cgihost_canary_percent', { cgi: 'ok' })).toBe(0);
    expect(value(m, 'cgihost_event_loop_utilization')).toBeGreaterThanOrEqual(0);
    expect(value(m, 'cgihost_sync_waiters')).toBe(0);
    expect(value(m, 'cgihost_store_stats_up')).toBe(1);
  });

  it('recent errors carry requestId, cgi, version and the logged cause; so do the log lines', async () => {
    const res = await host.post('fail', {});
    const requestId = res.headers.get('x-request-id')!;
    const version = res.headers.get('x-cgi-version')!;
    const ov = (await host.get('/_host/api/overview')).body;
    expect(ov.errors.find((e: { requestId?: string }) => e.requestId === requestId)).toMatchObject({
      cgi: 'fail',
      version,
      code: 'INTERNAL',
      status: 500,
      message: expect.stringContaining('kaboom in fail'),
    });
    const line = host
      .output()
      .split('\n')
      .find((l) => l.includes(`"requestId":"${requestId}"`));
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', cgi: 'fail', version, requestId });
  });

  it('the overview and the series sample live rates', async () => {
    const ov = (await host.get('/_host/api/overview')).body;
    expect(ov.host).toMatchObject({ metricsEnabled: true, cgis: { total: 3, ready: 2, quarantined: 1 } });
    expect(ov.host.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(ov.host.memory.rss).toBeGreaterThan(0);
    expect(ov.store.ok).toBe(true);
    expect(ov.live.cgis.ok.requests).toBeGreaterThanOrEqual(0);
    const se = await waitFor(
      async () => {
        const b = (await host.get('/_host/api/series')).body;
        return b.times.length > 0 ? b : undefined;
      },
      7_000,
      250,
    );
    expect(se.stepSeconds).toBe(5);
    expect(Object.keys(se.cgis).sort()).toEqual(['crash', 'fail', 'ok']);
    expect(se.cgis.ok.rps).toHaveLength(se.times.length);
    expect(se.host.rssMb[0]).toBeGreaterThan(0);
  });
});

describe('GET /metrics (metrics.enabled false)', () => {
  it('has no request series, and still the cheap ones', async () => {
    expect((await off.post('ok', { text: 'x' })).status).toBe(200);
    const res = await off.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('cgihost_requests_total');
    expect(res.text).not.toContain('cgihost_request_duration_seconds');
    for (const name of [
      'cgihost_worker_restarts_total',
      'cgihost_queue_depth',
      'cgihost_queue_lag_seconds',
      'cgihost_sync_waiters',
      'cgihost_cgi_workers',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
  });

  it('the admin API still counts requests (from the CGI slots)', async () => {
    const fail = await off.post('fail', {});
    const cgis = (await off.get('/_host/api/cgis')).body.cgis;
    expect(cgis.find((c: { name: string }) => c.name === 'ok').requests).toBe(1);
    const ov = (await off.get('/_host/api/overview')).body;
    expect(ov.host.metricsEnabled).toBe(false);
    expect(ov.errors[0]).toMatchObject({ cgi: 'fail', requestId: fail.headers.get('x-request-id'), code: 'INTERNAL' });
  });
});
