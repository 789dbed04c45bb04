/**
 * The schema, as an ordered list of migrations. Migration i (0-based) brings the
 * database from `PRAGMA user_version = i` to i + 1. Never edit a shipped entry:
 * append a new one.
 *
 * Foreign keys are not declared: the store thread is the only writer and keeps
 * the references itself, and a foreign-key check on every inbox row would cost
 * a lookup per fan-out entry.
 */
export const migrations: readonly string[] = [
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
  /* 2: accounts an administrator disabled (SPEC §10); NULL: enabled */ `
  ALTER TABLE users ADD COLUMN disabled_at INTEGER;
  `,
];
