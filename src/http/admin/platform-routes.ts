/**
 * The admin API of the CGI platform (SPEC §8), behind the admin check:
 *   GET  /_host/api/queue                         topics: depth, lag, retries, dead letters, consumer, in flight, done, failed
 *   GET  /_host/api/queue/dead?topic=&limit=&before=   dead letters, newest first
 *   POST /_host/api/queue/dead/<jobId>/retry      a dead letter back to pending (attempts reset)
 *   GET  /_host/api/schedules                     every schedule: cron, next run, runs, skipped, last run
 *   POST /_host/api/schedules/<name>/run          run a schedule now (not while it runs)
 *   GET  /_host/api/biz                           ctx.metrics of every group, and ctx.fetch counts
 */
import { CgiError } from '../../errors.js';
import type { Registry } from '../../host/registry.js';
import { sendJson } from '../respond.js';
import type { StoreHost } from '../../store/host.js';
import type { AdminRoute } from './router.js';
import type { Monitor } from '../../monitor/monitor.js';

const RESERVED = new Set(['fanout', 'webhook']);

export function platformRoutes({ store, registry, monitor: m }: { store: StoreHost; registry: Registry; monitor: Monitor }): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/_host/api/queue',
      handle: async ({ res }) => sendJson(res, 200, JSON.stringify(await topics(store, registry))),
    },
    {
      method: 'GET',
      path: '/_host/api/queue/dead',
      async handle({ res, query }) {
        const limit = query.has('limit') ? Number(query.get('limit')) : undefined;
        // A refusal of the store (a bad limit) is a CgiError with its code: the router answers it as such.
        const page = await store.admin('deadLetters', {
          topic: query.get('topic') ?? undefined,
          limit,
          before: query.get('before') ?? undefined,
        });
        sendJson(res, 200, JSON.stringify(page));
      },
    },
    {
      method: 'POST',
      path: '/_host/api/queue/dead/',
      async handle({ res, tail }) {
        const [jobId = '', action] = tail.split('/');
        if (action !== 'retry') throw new CgiError('NO_SUCH_CGI', `no admin endpoint at /_host/api/queue/dead/${tail.slice(0, 100)}`);
        const r = await store.admin('retryDead', { jobId: decodeURIComponent(jobId) });
        sendJson(res, 200, JSON.stringify({ retried: true, ...r }));
      },
    },
    {
      method: 'GET',
      path: '/_host/api/schedules',
      handle: async ({ res }) => sendJson(res, 200, JSON.stringify(await schedules(store, registry))),
    },
    {
      method: 'POST',
      path: '/_host/api/schedules/',
      async handle({ res, tail }) {
        const [rawName = '', action] = tail.split('/');
        const name = decodeURIComponent(rawName);
        const slot = registry.get(name);
        if (!slot?.clock) throw new CgiError('NO_SUCH_CGI', `no schedule is named "${name.slice(0, 100)}"`);
        if (action !== 'run') throw new CgiError('NO_SUCH_CGI', `unknown action "${String(action).slice(0, 40)}"; expected run`);
        sendJson(res, 200, JSON.stringify({ schedule: name, ...slot.clock.runNow() }));
      },
    },
    { method: 'GET', path: '/_host/api/biz', handle: ({ res }) => sendJson(res, 200, JSON.stringify(biz(m))) },
  ];
}

/** Every topic that has jobs, dead letters or a consumer. */
export async function topics(store: StoreHost, registry: Registry) {
  const s = await store.stats();
  const consumers = new Map<string, { name: string; group: string; state: string; version: string | null }>();
  for (const slot of registry.slots.values()) {
    const meta = slot.stable?.meta;
    if (meta?.kind === 'consumer')
      consumers.set(meta.topic, { name: slot.name, group: slot.group, state: slot.state, version: slot.stable!.version });
  }
  const names = new Set([
    ...Object.keys(s.queueDepth),
    ...Object.keys(s.queueDeadLetters),
    ...Object.keys(s.queueTopics),
    ...consumers.keys(),
  ]);
  return {
    topics: [...names].sort().map((topic) => ({
      topic,
      host: RESERVED.has(topic),
      depth: s.queueDepth[topic] ?? 0,
      lagSeconds: s.queueLagSeconds[topic] ?? 0,
      retries: s.queueRetries[topic] ?? 0,
      deadLetters: s.queueDeadLetters[topic] ?? 0,
      consumer: consumers.get(topic) ?? null,
      inflight: s.queueTopics[topic]?.inflight ?? 0,
      done: s.queueTopics[topic]?.done ?? 0,
      failed: s.queueTopics[topic]?.failed ?? 0,
    })),
  };
}

export async function schedules(store: StoreHost, registry: Registry) {
  const stored = new Map((await store.admin('scheduleRuns', undefined).catch(() => [])).map((r) => [r.name, r]));
  const out = [];
  for (const slot of registry.slots.values()) {
    const c = slot.clock;
    if (!c) continue;
    out.push({
      name: slot.name,
      group: slot.group,
      state: slot.state,
      version: slot.stable?.version ?? null,
      cron: c.expression,
      nextRunAt: c.nextRunAt,
      running: c.busy,
      runs: c.runs,
      failures: c.failures,
      skipped: c.skipped,
      last: c.last ?? null,
      lastStored: stored.get(slot.name) ?? null,
    });
  }
  return { schedules: out.sort((a, b) => a.name.localeCompare(b.name)) };
}

export function biz(m: Monitor) {
  const metrics = [...m.biz.metrics.values()].map((x) => ({
    group: x.group,
    name: x.name,
    kind: x.kind,
    dropped: x.dropped,
    rate: x.kind === 'gauge' ? null : m.biz.rate(x),
    series: [...x.series.values()].map((s) => ({
      labels: Object.fromEntries(s.labels),
      value: s.value,
      ...(s.counts ? { count: s.counts.reduce((a, b) => a + b, 0) } : {}),
    })),
  }));
  const fetches = [...m.biz.fetches].flatMap(([group, counts]) =>
    [...counts].map(([k, n]) => {
      const [host, status] = k.split('\u0000');
      return { group, host, status, count: n };
    }),
  );
  return { metrics: metrics.sort((a, b) => `${a.group}.${a.name}`.localeCompare(`${b.group}.${b.name}`)), fetches };
}
