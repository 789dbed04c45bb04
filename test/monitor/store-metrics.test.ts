/**
 * The series read from the store thread: sync waiters while a long-poll is
 * held, messages sent by kind and inbox entries after a group message and
 * its fan-out, and the queue's depth, lag, retries and dead letters.
 * Runs the real messaging CGIs of cgis/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyProjectCgis, newUsers, type RunningHost, scrape, startHost, tempDir, type User, value, waitFor } from '../helpers/index.js';

const USED = ['account/register.ts', 'account/login.ts', 'group/creategroup.ts', 'msgsend/sendmsg.ts', 'msgsync/sync.ts'];

let host: RunningHost;
let groupId: string;
const users: Record<string, User> = {};

beforeAll(async () => {
  const cgisDir = tempDir('cgihost-monitor-cgis-');
  copyProjectCgis(cgisDir, '_shared', ...USED);
  host = await startHost({ cgisDir, config: { watch: false } });
  const names = ['alice_m', 'bob_m', 'carol_m'];
  (await newUsers(host, names)).forEach((u, i) => (users[names[i]!] = u));
});

afterAll(async () => {
  await host?.kill();
});

describe('store series in /metrics', () => {
  it('cgihost_sync_waiters counts a held long-poll', async () => {
    expect(value(await scrape(host), 'cgihost_sync_waiters')).toBe(0);
    const held = host.post('sync', { syncKey: 0, timeoutMs: 10_000 }, { token: users.bob_m!.token });
    await waitFor(async () => value(await scrape(host), 'cgihost_sync_waiters') === 1, 5_000, 50);
    // A group that includes bob writes an entry to his inbox: the long-poll is answered.
    const group = await host.post(
      'creategroup',
      { name: 'metrics', members: [users.bob_m!.uid, users.carol_m!.uid] },
      { token: users.alice_m!.token },
    );
    expect(group.status).toBe(200);
    expect((await held).body.messages.length).toBeGreaterThan(0);
    await waitFor(async () => value(await scrape(host), 'cgihost_sync_waiters') === 0, 5_000, 50);
    groupId = group.body.groupId;
  });

  it('messages sent by kind, inbox entries written, and the fan-out queue', async () => {
    const before = await scrape(host);
    const entries0 = value(before, 'cgihost_inbox_entries_written_total')!;
    const sent = await host.post(
      'sendmsg',
      { groupId, type: 'text', content: 'hello metrics', clientMsgId: 'm-1' },
      { token: users.alice_m!.token },
    );
    expect(sent.status).toBe(200);
    const m = await waitFor(
      async () => {
        const s = await scrape(host);
        // The sender's entry is written at once, the other two members' by the queue.
        return value(s, 'cgihost_inbox_entries_written_total')! >= entries0 + 3 &&
          value(s, 'cgihost_queue_depth', { topic: 'fanout' }) === 0
          ? s
          : undefined;
      },
      5_000,
      50,
    );
    expect(value(m!, 'cgihost_messages_sent_total', { kind: 'text' })).toBe(1);
    expect(value(m!, 'cgihost_queue_lag_seconds', { topic: 'fanout' })).toBe(0);
    expect(value(m!, 'cgihost_queue_retries_total', { topic: 'fanout' })).toBe(0);
    expect(value(m!, 'cgihost_queue_dead_letters', { topic: 'fanout' })).toBe(0);
    expect(value(m!, 'cgihost_store_commits_total')).toBeGreaterThan(value(before, 'cgihost_store_commits_total')!);
  });

  it('the overview shows the same queues', async () => {
    const ov = (await host.get('/_host/api/overview')).body;
    expect(ov.store.ok).toBe(true);
    expect(ov.store.queueDepth).toHaveProperty('fanout');
    expect(ov.store.messagesSent.text).toBe(1);
  });
});
