/**
 * An existing data dir keeps working after the messenger's migration (SPEC
 * §6, issue 15): a database made by the host before it existed opens, keeps
 * every message, session and media file, and gets conversations (everything
 * delivered before counts as read), history links and the search index.
 *
 * Two old data dirs: test/fixtures/main-datadir (made by main's own host,
 * see make.mjs there), and one built here from migration 1 alone with a
 * fan-out job still pending in the old job format.
 */
import Database from 'better-sqlite3';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, startHost, tempDir, waitFor, type RunningHost, metric, type User } from '../helpers/index.js';
import { inbox, sendText, type SyncMessage } from '../messaging/client.js';
import { getMedia } from '../media/support.js';
import { migrations } from '../../src/store/migrations.js';
import { hashPassword } from '../../cgis/_shared/password.js';
import { CGIS_DIR, conversationKey, conversations, history, isReadOrReceipt, markRead, ok, search } from './support.js';

const OLD = join(FIXTURES, 'main-datadir');

interface Made {
  users: Record<string, { uid: string; password: string; token: string }>;
  groupId: string;
  voice: string;
  image: string;
  inboxes: Record<string, SyncMessage[]>;
}

const hosts: RunningHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
});

async function open(dataDir: string): Promise<RunningHost> {
  const h = await startHost({ cgisDir: CGIS_DIR, dataDir, config: { watch: false } });
  hosts.push(h);
  return h;
}

describe('a data dir made by main', () => {
  it('opens with every message, session and media file, and gets conversations, history and search', async () => {
    const made = JSON.parse(readFileSync(join(OLD, 'made.json'), 'utf8')) as Made;
    const dataDir = tempDir('cgihost-upgrade-');
    cpSync(join(OLD, 'cgihost.db'), join(dataDir, 'cgihost.db'));
    cpSync(join(OLD, 'media'), join(dataDir, 'media'), { recursive: true });
    const h = await open(dataDir);
    const user = (name: string): User => ({ username: name, ...made.users[name]! });
    const [alice, bob, carol] = ['old_alice', 'old_bob', 'old_carol'].map(user) as [User, User, User];

    // The old sessions still sign in, and every inbox reads exactly as it did.
    for (const [name, old] of Object.entries(made.inboxes)) {
      expect(await inbox(h, user(name)), name).toEqual(old);
    }
    // Conversations: one per peer and group, all read (no old badge), last entries as before.
    for (const [name, old] of Object.entries(made.inboxes)) {
      const me = user(name);
      const expected = new Map<string, SyncMessage>();
      for (const m of old) expected.set(conversationKey(m, me.uid)!, m);
      const list = await conversations(h, me);
      expect(list.map((c) => c.peer ?? c.groupId).sort(), name).toEqual([...expected.keys()].sort());
      for (const c of list) {
        const last = expected.get((c.peer ?? c.groupId)!)!;
        expect(c, name).toMatchObject({ lastSeq: last.seq, readSeq: last.seq, unread: 0 });
        expect(c.lastMessage.msgId).toBe(last.msgId);
      }
      expect(list.map((c) => c.lastSeq)).toEqual(list.map((c) => c.lastSeq).sort((x, y) => y - x));
    }
    // History links were made for the old entries.
    const aliceBob = made.inboxes.old_alice!.filter((m) => conversationKey(m, alice.uid) === bob.uid).reverse();
    expect((await history(h, alice, { peer: bob.uid })).messages).toEqual(aliceBob);
    const page = await history(h, alice, { peer: bob.uid, limit: 2 });
    expect(page).toEqual({ messages: aliceBob.slice(0, 2), more: true });
    expect((await history(h, alice, { peer: bob.uid, beforeSeq: page.messages[1]!.seq })).messages).toEqual(aliceBob.slice(2));
    const group = made.inboxes.old_carol!.filter((m) => m.groupId === made.groupId).reverse();
    expect((await history(h, carol, { groupId: made.groupId })).messages).toEqual(group);
    // The old texts are in the search index, long and short queries alike.
    expect((await search(h, alice, { query: '你好' })).map((m) => m.content)).toEqual(['你好吗？我很好 😀']);
    expect((await search(h, bob, { query: 'SEE YOU' })).map((m) => m.content)).toEqual(['こんにちは 🎉 see you at 5']);
    expect((await search(h, carol, { query: '早上好' })).map((m) => m.content)).toEqual([
      'group message 3 早上好',
      'group message 2 早上好',
      'group message 1 早上好',
      'group message 0 早上好',
    ]);
    expect((await search(h, carol, { query: '😀' })).length).toBe(0);
    // Media: the recipient may still read what she was sent, others may not.
    for (const id of [made.voice, made.image]) {
      expect((await getMedia(h, id, alice.token)).status).toBe(200);
      expect((await getMedia(h, id, bob.token)).status).toBe(200);
      expect((await getMedia(h, id, carol.token)).status).toBe(404);
    }
    // Seqs go on from where they were; new messages count as unread; reading sends a receipt.
    const lastA = made.inboxes.old_alice!.at(-1)!.seq;
    const sent = await sendText(h, bob, alice, 'after the upgrade');
    const c = (await conversations(h, alice)).find((x) => x.peer === bob.uid)!;
    expect(c).toMatchObject({ lastSeq: lastA + 1, unread: 1, lastMessage: { msgId: sent.msgId } });
    expect(await markRead(h, alice, { peer: bob.uid }, lastA + 1)).toEqual({ readSeq: lastA + 1, unread: 0 });
    const bobNew = (await inbox(h, bob, made.inboxes.old_bob!.at(-1)!.seq)).filter(isReadOrReceipt);
    expect(bobNew.map((m) => m.event)).toEqual([{ kind: 'receipt', by: alice.uid, upTo: sent.msgId }]);

    // Once migrated, a restart opens it as it is.
    await h.stop();
    const again = await open(dataDir);
    expect((await inbox(again, alice)).length).toBe(made.inboxes.old_alice!.length + 2);
    await again.stop();
    const db = new Database(join(dataDir, 'cgihost.db'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect(db.prepare(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'media_grants'`).pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  }, 180_000);
});

describe('a data dir at migration 1 with a fan-out job pending', () => {
  it('runs the old job after the migration: every member gets the message, counted unread from then on', async () => {
    const dataDir = tempDir('cgihost-upgrade-');
    const db = new Database(join(dataDir, 'cgihost.db'));
    const now = Date.now();
    const passwordHash = await hashPassword('old password 1');
    const uids = ['u00000000000000a1', 'u00000000000000b2', 'u00000000000000c3'];
    const names = ['pend_a', 'pend_b', 'pend_c'];
    const groupId = 'g0000000000000001';
    try {
      db.pragma('journal_mode = WAL');
      db.exec(migrations[0] as string);
      db.pragma('user_version = 1');
      const ins = (sql: string, ...args: unknown[]) => db.prepare(sql).run(...args);
      uids.forEach((uid, i) => ins('INSERT INTO users VALUES (?, ?, ?, ?)', uid, names[i], passwordHash, now));
      ins('INSERT INTO groups VALUES (?, ?, ?, 1, ?)', groupId, 'pending', uids[0], now);
      for (const uid of uids) ins('INSERT INTO group_members VALUES (?, ?, ?)', groupId, uid, now);
      ins('INSERT INTO group_versions VALUES (?, 1, ?, 1)', groupId, JSON.stringify(uids));
      // The message, its sender's entry, and the fan-out job still pending, as main wrote them.
      ins(
        `INSERT INTO messages (id, from_uid, group_id, type, content, client_msg_id, sender_seq, created_at)
         VALUES (1, ?, ?, 'text', 'still on its way 🚚', 'p-1', 1, ?)`,
        uids[0],
        groupId,
        now,
      );
      ins('INSERT INTO inbox VALUES (?, 1, 1)', uids[0]);
      ins(
        `INSERT INTO jobs (topic, payload, next_run_at, created_at, updated_at) VALUES ('fanout', ?, ?, ?, ?)`,
        JSON.stringify({ m: 1, g: groupId, v: 1, x: uids[0] }),
        now,
        now,
        now,
      );
    } finally {
      db.close();
    }
    const h = await open(dataDir);
    await waitFor(async () => (await metric(h, 'cgihost_queue_depth', { topic: 'fanout' })) === 0, 20_000, 100);
    const users: User[] = [];
    for (const username of names) {
      const l = await h.post('login', { username, password: 'old password 1' });
      expect(l.status, l.text).toBe(200);
      users.push({ username, password: 'old password 1', uid: l.body.uid, token: l.body.token });
    }
    for (const u of users) {
      const all = await inbox(h, u);
      expect(all.map((m) => [m.seq, m.msgId, m.content])).toEqual([[1, 'm1', 'still on its way 🚚']]);
      const [c] = await conversations(h, u);
      // The sender's conversation existed before the migration (read); the others' arrived after it.
      expect(c).toMatchObject({ groupId, name: 'pending', lastSeq: 1, unread: u.uid === uids[0] ? 0 : 1 });
      expect((await search(h, u, { query: '🚚' })).map((m) => m.msgId)).toEqual(['m1']);
    }
    expect(await ok(h, users[1]!, 'markread', { groupId, seq: 1 })).toEqual({ readSeq: 1, unread: 0 });
  }, 120_000);
});
