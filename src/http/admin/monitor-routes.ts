/**
 * GET /metrics, the dashboard page, and the monitoring part of the admin API:
 *   /_host/api/overview  the host at a glance (uptime, memory, queues, live rates, alerts, errors)
 *   /_host/api/series    the dashboard's time series, last 10 minutes
 *   /_host/api/alerts    alert rules, alerts firing now, recent firings and resolutions
 * All behind the admin check of adminHandler.
 */
import { hostname } from 'node:os';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../respond.js';
import type { AdminRoute } from './router.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { LIVE_WINDOW_SECONDS, SERIES_POINTS, SERIES_STEP_SECONDS, type Monitor } from '../../monitor/monitor.js';

export function monitorRoutes(m: Monitor): AdminRoute[] {
  const page: AdminRoute['handle'] = ({ res }) => sendDashboard(res);
  return [
    {
      method: 'GET',
      path: '/metrics',
      async handle({ res }) {
        const metrics = await m.metrics();
        const text = await metrics.metrics();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    { method: 'GET', path: '/_host', handle: page },
    { method: 'GET', path: '/_host/', exact: true, handle: page },
    { method: 'GET', path: '/_host/api/overview', handle: async ({ res }) => sendJson(res, 200, JSON.stringify(await overview(m))) },
    {
      method: 'GET',
      path: '/_host/api/series',
      handle: ({ res, query }) => {
        const minutes = Math.min(10, Math.max(1, Number(query.get('minutes')) || 10));
        sendJson(res, 200, JSON.stringify(series(m, Math.ceil((minutes * 60) / SERIES_STEP_SECONDS))));
      },
    },
    {
      method: 'GET',
      path: '/_host/api/alerts',
      handle: ({ res }) =>
        sendJson(res, 200, JSON.stringify({ rules: m.alerts.rules, active: m.alerts.active(), recent: m.alerts.recent() })),
    },
  ];
}

export async function overview(m: Monitor) {
  const { registry, config } = m.parts;
  const store = await m.storeStats.get();
  const mem = process.memoryUsage();
  const states = { loading: 0, ready: 0, failed: 0, quarantined: 0 };
  const live: Record<string, unknown> = {};
  for (const slot of registry.slots.values()) {
    states[slot.state]++;
    const w = m.windows.window(slot.name, LIVE_WINDOW_SECONDS);
    live[slot.name] = {
      rps: w.rps,
      errorRate: w.errorRate,
      p50Ms: w.p50Ms,
      p99Ms: w.p99Ms,
      requests: w.requests,
      errors5xx: w.errors5xx,
      seconds: w.seconds,
    };
  }
  return {
    host: {
      hostname: hostname(),
      pid: process.pid,
      node: process.version,
      startedAt: m.startedAt,
      uptimeSeconds: Math.round((Date.now() - m.startedAt) / 1000),
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, arrayBuffers: mem.arrayBuffers },
      eventLoopUtilization: m.loops.main(),
      metricsEnabled: config.metrics.enabled,
      /** An admin token is configured: the dashboard offers to sign out. */
      adminToken: Boolean(config.adminToken),
      cgis: { total: registry.slots.size, ...states, refused: registry.fileErrors.size },
    },
    store: { ok: store.ok, at: store.at || null, error: store.error, ...store.stats },
    live: { windowSeconds: LIVE_WINDOW_SECONDS, cgis: live },
    alerts: { rules: m.alerts.rules.length, active: m.alerts.active(), recent: m.alerts.recent(20) },
    errors: m.errors.list(30),
  };
}

/** { stepSeconds, times, cgis: {name: {rps, errorRate, p99Ms}}, queues: {topic: {depth, lagSeconds}}, host: {rps, rssMb, heapMb, elu, syncWaiters, messagesPerSec, inboxEntriesPerSec} }. */
export function series(m: Monitor, points = SERIES_POINTS) {
  const { times, series: all } = m.series.recent(points);
  const out = {
    stepSeconds: SERIES_STEP_SECONDS,
    times,
    cgis: {} as Record<string, Record<string, Array<number | null>>>,
    queues: {} as Record<string, Record<string, Array<number | null>>>,
    host: {} as Record<string, Array<number | null>>,
  };
  for (const [key, values] of Object.entries(all)) {
    const kind = key.slice(0, key.indexOf('/'));
    const field = key.slice(key.lastIndexOf('/') + 1);
    const name = key.slice(kind.length + 1, key.length - field.length - 1);
    const rounded = values.map((v) => (v === null ? null : Math.round(v * 1000) / 1000));
    if (kind === 'host') out.host[field] = rounded;
    else if (kind === 'cgi') (out.cgis[name] ??= {})[field] = rounded;
    else if (kind === 'queue') (out.queues[name] ??= {})[field] = rounded;
  }
  return out;
}

function sendDashboard(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Self-contained: nothing is loaded from anywhere, and only this origin's API is fetched.
    'content-security-policy':
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(DASHBOARD_HTML);
}
