// Raw better-sqlite3 on the same disk, for context beside the store's figures:
// what one transaction per message (or per fan-out) costs without group
// commit. Each run uses a fresh database in a temp dir, removed afterwards.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INBOX = 'CREATE TABLE inbox (uid TEXT, seq INTEGER, msg_id INTEGER, PRIMARY KEY (uid, seq)) WITHOUT ROWID';

/** `count` user ids shaped like the store's. */
export function rawUids(count) {
  return Array.from({ length: count }, (_, i) => 'u' + (i * 7919).toString(16).padStart(16, '0'));
}

function withDb(sync, schema, body) {
  const dir = mkdtempSync(join(tmpdir(), 'cgihost-bench-raw-'));
  try {
    const db = new Database(join(dir, 'raw.db'));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${sync}`);
    db.exec(schema);
    try {
      return body(db);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends the next inbox entry of each uid, seqs kept in `seq`. */
function appender(db) {
  const ins = db.prepare('INSERT INTO inbox VALUES (?, ?, ?)');
  const seq = new Map();
  return (uid, msgId) => {
    const s = (seq.get(uid) ?? 0) + 1;
    seq.set(uid, s);
    ins.run(uid, s, msgId);
  };
}

/**
 * One transaction per 1:1 message (a message row, the sender's and the
 * recipient's inbox rows): messages/s. pair(i) names the i-th message's
 * sender and recipient; stops after `messages` messages or `seconds`.
 */
export function rawSends({ sync, pair, content = 'hello there', messages = Infinity, seconds = Infinity }) {
  return withDb(
    sync,
    `CREATE TABLE messages (id INTEGER PRIMARY KEY, from_uid TEXT, to_uid TEXT, content TEXT, created_at INTEGER); ${INBOX};`,
    (db) => {
      const im = db.prepare('INSERT INTO messages (from_uid, to_uid, content, created_at) VALUES (?, ?, ?, ?)');
      const append = appender(db);
      const send = db.transaction((a, b) => {
        const id = im.run(a, b, content, Date.now()).lastInsertRowid;
        append(a, id);
        append(b, id);
      });
      const t0 = performance.now();
      let n = 0;
      while (n < messages && performance.now() - t0 < seconds * 1000) send(...pair(n++));
      return n / ((performance.now() - t0) / 1000);
    },
  );
}

/** One transaction per message fanned out to `members` inboxes, `messages` of them: inbox rows/s. */
export function rawFanout({ sync, members, messages }) {
  return withDb(sync, INBOX, (db) => {
    const append = appender(db);
    const users = rawUids(members);
    const one = db.transaction((msg) => {
      for (const u of users) append(u, msg);
    });
    const t0 = performance.now();
    for (let i = 0; i < messages; i++) one(i);
    return (messages * members) / ((performance.now() - t0) / 1000);
  });
}
