/**
 * The schema, as an ordered list of migrations. Migration i (0-based) brings the
 * database from `PRAGMA user_version = i` to i + 1. Never edit a shipped entry:
 * append a new one. An entry is SQL, or SQL and a function for what SQL cannot
 * compute (both run in the migration's one transaction).
 *
 * Foreign keys are not declared: the store thread is the only writer and keeps
 * the references itself, and a foreign-key check on every inbox row would cost
 * a lookup per fan-out entry.
 */
import type { Db } from './db.js';

export interface Migration {
  sql: string;
  after?: (db: Db) => void;
}

export const migrations: readonly (string | Migration)[] = [
  /* 1: accounts, messages, inboxes, groups, media, jobs */ `
  CREATE TABLE users (
    uid           TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Revoking a session deletes its row: a token resolves only while its row exists.
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    uid        TEXT NOT NULL,
    device_id  TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sessions_by_uid ON sessions(uid);

  -- Every message once. sender_seq is the sender's own inbox entry, kept to answer
  -- an idempotent retry; event is the JSON of a system entry's SystemEvent.
  CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    from_uid      TEXT NOT NULL,
    to_uid        TEXT,
    group_id      TEXT,
    type          TEXT NOT NULL,
    content       TEXT,
    media_id      TEXT,
    duration_ms   INTEGER,
    event         TEXT,
    client_msg_id TEXT,
    sender_seq    INTEGER,
    created_at    INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX messages_by_client_msg_id ON messages(from_uid, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

  -- Each user's inbox: seq 1, 2, 3... with no gaps, each entry pointing at a message.
  CREATE TABLE inbox (
    uid    TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    msg_id INTEGER NOT NULL,
    PRIMARY KEY (uid, seq)
  ) WITHOUT ROWID;

  CREATE TABLE groups (
    group_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE group_members (
    group_id  TEXT NOT NULL,
    uid       TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, uid)
  ) WITHOUT ROWID;
  CREATE INDEX group_members_by_uid ON group_members(uid);

  -- The member list of each membership version of a group, in join order. A
  -- fan-out job names the version it was sent at, so it reaches exactly the
  -- members of that moment; pending_jobs counts the jobs that still need the
  -- row, which is deleted once it is neither current nor needed.
  CREATE TABLE group_versions (
    group_id     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    members      TEXT NOT NULL,
    pending_jobs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, version)
  ) WITHOUT ROWID;

  CREATE TABLE media (
    media_id     TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Who may read a media file: its uploaders and everyone who got an inbox entry of
  -- a message that references it.
  CREATE TABLE media_grants (
    media_id TEXT NOT NULL,
    uid      TEXT NOT NULL,
    PRIMARY KEY (media_id, uid)
  ) WITHOUT ROWID;

  -- The durable queue (transactional outbox). key partitions a topic (the
  -- endpoint of a webhook) so that one slow partition cannot starve the others.
  CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    topic       TEXT NOT NULL,
    key         TEXT NOT NULL DEFAULT '',
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    last_error  TEXT
  );
  CREATE INDEX jobs_pending_in_order ON jobs(topic, id) WHERE state = 'pending';
  CREATE INDEX jobs_pending_due ON jobs(topic, key, next_run_at) WHERE state = 'pending';
  CREATE INDEX jobs_done ON jobs(updated_at) WHERE state = 'done';
  CREATE INDEX jobs_dead ON jobs(topic) WHERE state = 'dead';
  `,
  /* 2: the messenger (SPEC §6): profiles, contacts, blocks, conversations, history, recall, search */ {
    sql: `
  -- Profiles: display_name NULL shows the username; an avatar is readable by every signed-in user.
  ALTER TABLE users ADD COLUMN display_name TEXT;
  ALTER TABLE users ADD COLUMN avatar_media_id TEXT;
  CREATE INDEX users_by_avatar ON users(avatar_media_id) WHERE avatar_media_id IS NOT NULL;

  -- Each user's own contact list (removing someone changes only one's own list).
  CREATE TABLE contacts (
    uid   TEXT NOT NULL,
    peer  TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (uid, peer)
  ) WITHOUT ROWID;

  -- Requests waiting for an answer.
  CREATE TABLE contact_requests (
    to_uid   TEXT NOT NULL,
    from_uid TEXT NOT NULL,
    greeting TEXT,
    at       INTEGER NOT NULL,
    PRIMARY KEY (to_uid, from_uid)
  ) WITHOUT ROWID;
  CREATE INDEX contact_requests_by_from ON contact_requests(from_uid);

  CREATE TABLE blocks (
    uid     TEXT NOT NULL,
    blocked TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (uid, blocked)
  ) WITHOUT ROWID;

  -- A recalled message keeps its row (and every entry pointing at it) without its payload.
  ALTER TABLE messages ADD COLUMN recalled_at INTEGER;

  -- Each inbox entry links to the previous entry of its conversation in the same inbox
  -- (prev: that entry's seq; NULL for a conversation's first entry, and for entries
  -- outside any conversation, like contact requests). A conversation's entries are
  -- read newest first by following prev from the conversation's tail_seq, so a page
  -- of history costs its own rows whatever the size of the inbox, and writing an
  -- entry costs no extra index. inbox_by_msg finds every inbox holding a message
  -- (recall, search): it grows in message order, at the end of the index.
  ALTER TABLE inbox ADD COLUMN prev INTEGER;
  UPDATE inbox SET prev = p.prev
    FROM (SELECT i.uid, i.seq,
                 LAG(i.seq) OVER (PARTITION BY i.uid,
                   COALESCE(m.group_id, CASE WHEN m.from_uid = i.uid THEN m.to_uid ELSE m.from_uid END)
                   ORDER BY i.seq) AS prev
            FROM inbox i JOIN messages m ON m.id = i.msg_id) p
   WHERE inbox.uid = p.uid AND inbox.seq = p.seq AND p.prev IS NOT NULL;
  CREATE INDEX inbox_by_msg ON inbox(msg_id, uid);

  -- A row per user and conversation (conv: the peer's uid, or the group id), kept in
  -- the transaction that writes its entries. tail_seq: the newest entry of any kind;
  -- last_*: the newest other than read/receipt (the list's order and lastMessage);
  -- last_in_*: the newest that counts as unread (a message from someone else);
  -- receipt_msg_id: the newest message of the peer a receipt was sent for. A user's
  -- rows are listed and sorted whole (no index on last_seq to move at every entry).
  CREATE TABLE conversations (
    uid            TEXT NOT NULL,
    conv           TEXT NOT NULL,
    is_group       INTEGER NOT NULL,
    tail_seq       INTEGER NOT NULL,
    last_seq       INTEGER,
    last_msg_id    INTEGER,
    read_seq       INTEGER NOT NULL DEFAULT 0,
    unread         INTEGER NOT NULL DEFAULT 0,
    last_in_seq    INTEGER,
    last_in_msg_id INTEGER,
    receipt_msg_id INTEGER,
    PRIMARY KEY (uid, conv)
  ) WITHOUT ROWID;

  -- Conversations of an upgraded data dir: there were no read positions before, so
  -- everything already delivered counts as read (no badge of old messages).
  INSERT INTO conversations (uid, conv, is_group, tail_seq, last_seq, last_msg_id, read_seq, unread)
    SELECT x.uid, x.conv, x.is_group, x.s, x.s, x.msg_id, x.s, 0
      FROM (SELECT i.uid, COALESCE(m.group_id, CASE WHEN m.from_uid = i.uid THEN m.to_uid ELSE m.from_uid END) AS conv,
                   m.group_id IS NOT NULL AS is_group, MAX(i.seq) AS s, i.msg_id
              FROM inbox i JOIN messages m ON m.id = i.msg_id
             GROUP BY 1, 2) x;
  UPDATE conversations SET (last_in_seq, last_in_msg_id) = (
    SELECT i.seq, i.msg_id FROM inbox i JOIN messages m ON m.id = i.msg_id
     WHERE i.uid = conversations.uid
       AND COALESCE(m.group_id, CASE WHEN m.from_uid = i.uid THEN m.to_uid ELSE m.from_uid END) = conversations.conv
       AND m.type IN ('text', 'voice', 'image', 'video') AND m.from_uid <> conversations.uid
     ORDER BY i.seq DESC LIMIT 1);
  UPDATE conversations SET receipt_msg_id = last_in_msg_id WHERE is_group = 0;

  -- Who may read a media file, and through what: msg_id 0 is an upload (kept for
  -- good), any other the message that brought it (dropped when it is recalled).
  CREATE TABLE media_access (
    media_id TEXT NOT NULL,
    uid      TEXT NOT NULL,
    msg_id   INTEGER NOT NULL,
    PRIMARY KEY (media_id, uid, msg_id)
  ) WITHOUT ROWID;
  INSERT INTO media_access (media_id, uid, msg_id) SELECT media_id, uid, 0 FROM media_grants;
  DROP TABLE media_grants;

  -- Search: text messages by substring. msg_trigram (FTS5 trigram) answers queries of
  -- three or more characters; msg_short (see search-grams.ts) the shorter ones.
  -- Contentless: the text stays in messages; a recalled message's rows are deleted.
  -- Messages are indexed after they are stored, in batches, in id order: search_cursor
  -- is the last message id looked at (0 here, so an upgraded data dir's texts are
  -- indexed by the running host).
  CREATE VIRTUAL TABLE msg_trigram USING fts5(content, tokenize = 'trigram', content = '', contentless_delete = 1);
  CREATE VIRTUAL TABLE msg_short USING fts5(grams, tokenize = 'ascii', content = '', contentless_delete = 1, detail = 'none');
  CREATE TABLE search_cursor (one INTEGER PRIMARY KEY CHECK (one = 1), msg_id INTEGER NOT NULL);
  INSERT INTO search_cursor VALUES (1, 0);
  `,
  },
  /* 3: the CGI platform (SPEC §8): ctx.kv, consumer topics on the jobs table, schedule leases */ `
  -- ctx.kv: one key space per CGI group. key is the order-preserving encoding of
  -- the key's parts (src/worker/kv-keys.ts), so BLOB order is key order; value is
  -- JSON text; version is the commit that last wrote the row.
  CREATE TABLE kv (
    space      TEXT NOT NULL,
    key        BLOB NOT NULL,
    value      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (space, key)
  ) WITHOUT ROWID;
  CREATE INDEX kv_expiring ON kv(expires_at) WHERE expires_at IS NOT NULL;

  -- Counters that must never go back, even when the rows that used them are
  -- deleted (kv versions: a deleted key set again must not get an old version).
  CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- Consumer topics: the due jobs of a topic in due order, and each key's
  -- oldest pending job (jobs with the same key run one at a time, in order;
  -- jobs without a key stay out of that index).
  CREATE INDEX jobs_pending_next ON jobs(topic, next_run_at, id) WHERE state = 'pending';
  CREATE INDEX jobs_pending_key ON jobs(topic, key, id) WHERE state = 'pending' AND key != '';

  -- One row per schedule: the last time it fired (taken as a lease, so that
  -- hosts sharing a store run each firing once) and how that run ended.
  CREATE TABLE schedule_runs (
    name        TEXT PRIMARY KEY,
    fire_at     INTEGER NOT NULL,
    holder      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    ok          INTEGER,
    error       TEXT
  ) WITHOUT ROWID;
  `,
  /* 4: accounts an administrator disabled (SPEC §10); NULL: enabled */ `
  ALTER TABLE users ADD COLUMN disabled_at INTEGER;
  `,
];
