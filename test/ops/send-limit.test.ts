/**
 * limits.sendPerMinute (SPEC §10) over a running host: a sender has a bucket
 * of that many messages refilled over a minute; past it sendmsg answers 429
 * RATE_LIMITED with retry-after, per sender only. A retry of a message already
 * stored is answered as the first time even when the sender is limited, and
 * spends nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, newUsers, PROJECT_CGIS, sleep, startHost, type RunningHost, type User } from '../helpers/index.js';
import { clientMsgId } from '../messaging/client.js';

// One message's worth refills every 10 s: a loaded machine never refills one during the burst.
const PER_MINUTE = 6;
let h: RunningHost;
let alice: User;
let bob: User;
let carol: User;
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS, config: { watch: false, limits: { sendPerMinute: PER_MINUTE } } });
  [alice, bob, carol] = await newUsers(h, 3, 'sl');
});
afterAll(async () => {
  await h?.stop();
});

const send = (from: User, to: User, cmid = clientMsgId(), content = 'hi') =>
  h.post('sendmsg', { to: to.uid, type: 'text', content, clientMsgId: cmid }, { token: from.token });

describe('limits.sendPerMinute', () => {
  it('lets a burst of sendPerMinute through, then 429 RATE_LIMITED with retry-after, for that sender only', async () => {
    const ids: string[] = [];
    for (let i = 0; i < PER_MINUTE; i++) {
      const cmid = clientMsgId();
      const r = await send(alice, bob, cmid, `m${i}`);
      expect(r.status, r.text).toBe(200);
      ids.push(cmid);
    }
    const limited = await send(alice, bob);
    expectError(limited, 429, 'RATE_LIMITED');
    expect(limited.body.error.details).toMatchObject({ sendPerMinute: PER_MINUTE });
    const after = Number(limited.headers.get('retry-after'));
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(10);

    // A retry of a stored message is answered as before, limited or not.
    const again = await send(alice, bob, ids[3], 'm3');
    expect(again.status, again.text).toBe(200);
    // Others are not limited by alice's sending; bob may answer her.
    expect((await send(bob, alice)).status).toBe(200);
    expect((await send(carol, alice)).status).toBe(200);

    // Time is what this is about: after retry-after, one more message goes through.
    await sleep(after * 1000 + 200);
    expect((await send(alice, bob)).status).toBe(200);
    expectError(await send(alice, bob), 429, 'RATE_LIMITED');

    // Every message alice stored is in bob's inbox once: nothing refused was stored.
    const inbox = await h.post('sync', { syncKey: 0, limit: 500 }, { token: bob.token });
    const fromAlice = inbox.body.messages.filter((m: { from: string }) => m.from === alice.uid);
    expect(fromAlice).toHaveLength(PER_MINUTE + 1);
  });
});
