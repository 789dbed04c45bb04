/**
 * What the README's "Several hosts on PostgreSQL" promises a self-hoster, end
 * to end: a single-machine SQLite install with users, chats, a group and a
 * picture is stopped, copied with `cgihost migrate-store`, and served by two
 * hosts on PostgreSQL sharing its media folder. Old tokens and passwords work
 * on both, every inbox reads back with the same seqs, chatting goes on through
 * both, and when one host is killed with `kill -9` the other loses nothing.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGroup, expectDense, inbox, sendGroupText, sendText, sync } from '../messaging/client.js';
import { freshDatabase, PG_SKIP, pgSkipNote, requirePg } from '../helpers/postgres.js';
import { login, newUsers, PROJECT_CGIS, runCli, startHost, waitFor, type RunningHost } from '../helpers/index.js';

pgSkipNote('moving to PostgreSQL');

describe.skipIf(PG_SKIP)('moving an install to PostgreSQL and serving it from two hosts', () => {
  const hosts: RunningHost[] = [];
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    for (const h of hosts) await h.stop().catch(() => undefined);
    await drop?.();
  }, 60_000);

  it('keeps every account, token, seq, group and picture, and chats on through both hosts and a kill -9', async () => {
    requirePg();
    const single = await startHost({ cgisDir: PROJECT_CGIS });
    hosts.push(single);
    const [alice, bob, carol] = await newUsers(single, 3, 'mv');
    for (let i = 0; i < 5; i++) await sendText(single, alice!, bob!, `before ${i}`);
    const { groupId } = await createGroup(single, alice!, [bob!, carol!], 'movers');
    await sendGroupText(single, carol!, groupId, 'group before');
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const up = await fetch(`${single.url}/cgi-bin/uploadmedia`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice!.token}`, 'content-type': 'image/png' },
      body: png,
    });
    const { mediaId } = (await up.json()) as { mediaId: string };
    const pic = await single.post('sendmediamsg', { to: bob!.uid, type: 'image', mediaId, clientMsgId: 'pic-1' }, { token: alice!.token });
    expect(pic.status, pic.text).toBe(200);
    const before = { alice: await inbox(single, alice!), bob: await inbox(single, bob!), carol: await inbox(single, carol!) };
    expect(await single.stop()).toBe(0);

    const db = await freshDatabase('cgihost_move');
    drop = db.drop;
    const moved = await runCli(['migrate-store', '--to', db.url, '--data-dir', single.dataDir], { timeoutMs: 60_000 });
    expect(moved.code, moved.stderr).toBe(0);

    const config = { store: { engine: 'postgres', url: db.url }, mediaDir: join(single.dataDir, 'media') };
    const [a, b] = await Promise.all([startHost({ cgisDir: PROJECT_CGIS, config }), startHost({ cgisDir: PROJECT_CGIS, config })]);
    hosts.push(a, b);

    // Old tokens work on both hosts; every inbox is as it was, seq for seq.
    for (const h of [a, b]) {
      expect(await inbox(h, alice!)).toEqual(before.alice);
      expect(await inbox(h, bob!)).toEqual(before.bob);
      expect(await inbox(h, carol!)).toEqual(before.carol);
    }
    // Old passwords too, and the picture is served from the shared media folder.
    expect((await login(b, carol!.username)).status).toBe(200);
    const got = await fetch(`${b.url}/cgi-bin/getmedia?mediaId=${mediaId}`, { headers: { authorization: `Bearer ${bob!.token}` } });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(png);

    // Chatting goes on through both: seqs continue where SQLite left them.
    const held = sync(b, bob!, { syncKey: before.bob.length, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    const s1 = await sendText(a, alice!, bob!, 'after the move');
    const r = await held;
    expect(r.body.messages).toEqual([expect.objectContaining({ msgId: s1.msgId, seq: before.bob.length + 1 })]);
    const g = await sendGroupText(b, bob!, groupId, 'group after');

    // One host killed: the other still has everything, and takes new messages.
    await a.kill();
    const s2 = await sendText(b, carol!, alice!, 'after the kill');
    // The group message's fan-out may have been the killed host's: the other takes it over when its lease runs out.
    await waitFor(async () => (await inbox(b, alice!)).some((m) => m.msgId === g.msgId), 60_000, {
      everyMs: 250,
      what: 'the group message',
    });
    const aliceNow = await inbox(b, alice!);
    expectDense(aliceNow);
    expect(aliceNow.map((m) => m.msgId)).toEqual(expect.arrayContaining([s1.msgId, s2.msgId, g.msgId]));
    const bobNow = await inbox(b, bob!);
    expectDense(bobNow);
    expect(bobNow.slice(0, before.bob.length)).toEqual(before.bob);
  }, 240_000);
});
