/**
 * Long-polls are not latency: the time a `sync` is held waiting for an entry
 * is measured apart (cgihost_long_poll_held_seconds, heldRequests, the access
 * log's heldMs), so the request latency, its p99 and the p99_ms alerts mean
 * service time.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cgiSummary, newUsers, parseMetrics, ROOT, startHost, waitFor, type RunningHost, type User } from '../helpers/index.js';
import { sendText, sync, syncWaiters } from '../messaging/client.js';

const HOLD_MS = 4_000;
let h: RunningHost;
let users: User[];

beforeAll(async () => {
  h = await startHost({
    cgisDir: join(ROOT, 'cgis'),
    config: {
      watch: false,
      // Would fire at once if held time counted: every held sync takes HOLD_MS.
      alerts: [{ name: 'sync_slow', metric: 'p99_ms', target: 'sync', threshold: HOLD_MS / 2, forSeconds: 0 }],
    },
  });
  users = await newUsers(h, 4, 'held');
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

it('counts held syncs apart: p99 and the request histogram are service time, the wait has its own histogram', async () => {
  const [a, b, c, d] = users as [User, User, User, User];
  const t0 = performance.now();
  // Two run out their time; one is woken by a message from d (who is not polling: a sender gets an entry too).
  const timedOut = [b, c].map((u) => sync(h, u, { syncKey: 0, timeoutMs: HOLD_MS }));
  const woken = sync(h, a, { syncKey: 0, timeoutMs: 20_000 });
  // Held by the store, not only in flight: a message sent before a's sync reaches the store would answer it unheld.
  await syncWaiters(h, 3);
  await sendText(h, d, a, 'wake up');
  const answers = await Promise.all([...timedOut, woken]);
  expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(answers.map((r) => r.body.messages.length)).toEqual([0, 0, 1]);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(HOLD_MS);

  const summary = (await cgiSummary(h, 'sync')) as Awaited<ReturnType<typeof cgiSummary>> & { p99Ms: number; heldRequests: number };
  expect(summary.heldRequests).toBe(3);
  // Held for 4 s each; what is left is the host's own work (generous for a loaded machine).
  expect(summary.p99Ms).toBeLessThan(HOLD_MS / 2);

  const samples = parseMetrics((await h.get('/metrics')).text);
  const value = (name: string) => samples.find((s) => s.name === name && s.labels.cgi === 'sync')?.value;
  expect(value('cgihost_long_poll_held_seconds_count')).toBe(3);
  expect(value('cgihost_long_poll_held_seconds_sum')).toBeGreaterThan((2 * HOLD_MS) / 1000);
  expect(value('cgihost_request_duration_seconds_count')).toBe(3);
  expect(value('cgihost_request_duration_seconds_sum')).toBeLessThan(HOLD_MS / 1000);
}, 60_000);

it('does not fire a p99_ms alert for syncs that were only held', async () => {
  // Once the monitor's live window has the syncs, the same tick has judged the rule on them.
  await waitFor(async () => {
    const ov = await h.get('/_host/api/overview');
    return ov.body.live.cgis.sync.requests >= 3;
  }, 10_000);
  const alerts = await h.get('/_host/api/alerts');
  expect(alerts.body.active).toEqual([]);
  expect(alerts.body.recent).toEqual([]);
});

it("writes the held time into the access log's request line", async () => {
  const lines = h
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"request"') && l.includes('"cgi":"sync"'))
    .map((l) => JSON.parse(l) as { ms: number; heldMs?: number });
  expect(lines).toHaveLength(3);
  for (const l of lines) {
    expect(l.heldMs).toBeGreaterThan(0);
    expect(l.ms).toBeGreaterThanOrEqual(l.heldMs!);
  }
});
