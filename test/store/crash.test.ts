/**
 * SIGKILL in the middle of a group fan-out: after a restart on the same data
 * dir, every member has every acknowledged message exactly once, every inbox
 * is dense, and the other members got the messages in send order.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dbPath } from '../../src/store/db.js';
import { bundle, openStore, removeBundle } from './support.js';
import { tempDir } from '../helpers/index.js';

let child: string;
beforeAll(async () => {
  child = await bundle(join(import.meta.dirname, 'fixtures/crash-child.ts'));
});
afterAll(() => removeBundle(child));

interface Ack {
  from: string;
  clientMsgId: string;
  msgId: string;
  seq: number;
}

it('loses and duplicates nothing when killed mid fan-out', async () => {
  const dir = tempDir('cgihost-crash-');
  const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acks: Ack[] = [];
  let ready: { groupId: string; uids: string[] } | undefined;
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`child exited early with code ${code}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { t: string } & Ack & { groupId: string; uids: string[] };
      if (m.t === 'ready') ready = m;
      else acks.push(m);
      if (acks.length === 300) {
        proc.removeAllListeners('exit');
        proc.kill('SIGKILL');
        proc.once('exit', () => resolve());
      }
    });
  });
  expect(ready).toBeDefined();
  const { groupId, uids } = ready!;

  // The kill really landed mid fan-out: some jobs done, some still pending.
  const peek = new Database(dbPath(dir));
  const states = Object.fromEntries(
    peek
      .prepare(`SELECT state, COUNT(*) AS n FROM jobs WHERE topic = 'fanout' GROUP BY state`)
      .all()
      .map((r) => {
        const row = r as { state: string; n: number };
        return [row.state, row.n];
      }),
  );
  peek.close();
  expect(states.done).toBeGreaterThan(0);
  expect(states.pending).toBeGreaterThan(0);

  // Restart: the pending jobs resume.
  const o = openStore({ dataDir: dir });
  await o.store.whenIdle();
  expect(o.store.stats().queueDepth.fanout).toBe(0);
  await o.store.close();

  const db = new Database(dbPath(dir), { readonly: true });
  try {
    const messages = db
      .prepare(`SELECT id, from_uid AS "from", client_msg_id AS clientMsgId FROM messages WHERE group_id = ? AND type = 'text' ORDER BY id`)
      .all(groupId) as Array<{ id: number; from: string; clientMsgId: string }>;
    const byClient = new Map(messages.map((m) => [`${m.from}/${m.clientMsgId}`, m.id]));
    // Every acknowledged message is stored, under the id it was acknowledged with.
    for (const a of acks) expect(`m${byClient.get(`${a.from}/${a.clientMsgId}`)?.toString(36)}`).toBe(a.msgId);
    expect(messages.length).toBeGreaterThanOrEqual(acks.length);

    const inbox = db.prepare('SELECT seq, msg_id AS msg FROM inbox WHERE uid = ? ORDER BY seq');
    const fromOf = new Map(messages.map((m) => [m.id, m.from]));
    for (const uid of uids) {
      const entries = inbox.all(uid) as Array<{ seq: number; msg: number }>;
      // Dense: 1..n with no gap.
      expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
      // group_created + every group message, each exactly once.
      expect(entries.length).toBe(1 + messages.length);
      const texts = entries.filter((e) => fromOf.has(e.msg)).map((e) => e.msg);
      expect(new Set(texts).size).toBe(messages.length);
      // Others' messages in send order.
      const others = texts.filter((id) => fromOf.get(id) !== uid);
      expect(others).toEqual([...others].sort((x, y) => x - y));
    }
    // Each sender's acknowledged seq is its own entry of that message.
    const entryAt = db.prepare('SELECT msg_id FROM inbox WHERE uid = ? AND seq = ?').pluck();
    for (const a of acks.slice(0, 50)) {
      expect(`m${(entryAt.get(a.from, a.seq) as number).toString(36)}`).toBe(a.msgId);
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
