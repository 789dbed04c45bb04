/**
 * kill -9 right after recalls in a big group (issue 15): the recalls are
 * acknowledged, the host dies before their fan-out can finish, and after a
 * restart on the same data dir every member ends with exactly one `recalled`
 * entry per recalled message, and every message once.
 */
import { afterAll, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, metric, newUsers } from '../helpers/index.js';
import { createGroup, expectDense, inbox, sendGroupText } from '../messaging/client.js';
import { CGIS_DIR, MANY_USERS_CONFIG } from './support.js';

const MEMBERS = 100;
const MESSAGES = 12;

const hosts: RunningHost[] = [];
afterAll(async () => {
  for (const x of hosts) await x.stop().catch(() => undefined);
});

it('gives every member exactly one recalled entry per recall acknowledged before a kill -9', async () => {
  const first = await startHost({ cgisDir: CGIS_DIR, config: MANY_USERS_CONFIG });
  hosts.push(first);
  const users = await newUsers(first, MEMBERS, 'rk');
  const [owner, ...rest] = users;
  const { groupId } = await createGroup(first, owner!, rest, 'crash');
  const senders = users.slice(0, 4);
  const sent = [];
  for (let i = 0; i < MESSAGES; i++) sent.push(await sendGroupText(first, senders[i % 4]!, groupId, `to recall ${i}`));
  // All the recalls at once; the host dies the moment the last one is acknowledged.
  let killed: Promise<void> | undefined;
  let acked = 0;
  await Promise.all(
    sent.map(async (m, i) => {
      const r = await first.post('recallmsg', { msgId: m.msgId }, { token: senders[i % 4]!.token });
      expect(r.status, r.text).toBe(200);
      if (++acked === MESSAGES) killed = first.kill();
    }),
  );
  await killed;

  const second = await startHost({ cgisDir: CGIS_DIR, dataDir: first.dataDir, config: MANY_USERS_CONFIG });
  hosts.push(second);
  await waitFor(async () => (await metric(second, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 60_000, 100);
  for (const u of users) {
    const all = await inbox(second, u);
    expectDense(all);
    for (const m of sent) {
      expect(
        all.filter((x) => x.msgId === m.msgId),
        `${u.username} ${m.msgId}`,
      ).toEqual([expect.objectContaining({ recalled: true })]);
      const recalled = all.filter((x) => x.event?.kind === 'recalled' && x.event.msgId === m.msgId);
      expect(recalled, `${u.username} recalled ${m.msgId}`).toHaveLength(1);
    }
  }
}, 300_000);
