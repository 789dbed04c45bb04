/**
 * Groups on PostgreSQL: the SQLite engine's groups.ts as async SQL (its rules,
 * versions, member limit and system entries; see there), with what several
 * hosts need on top:
 *
 * - A membership change locks the group's row (FOR UPDATE) before reading its
 *   version, so two changes at once make versions v+1 and v+2 rather than two
 *   v+1. A post takes the same row FOR SHARE (versionForPost, in the post's
 *   transaction): a change waits for the post to commit its fan-out job (its
 *   version then has pending_jobs > 0 and is kept), and a post waiting for a
 *   change reads the version that change made. The post and each fan-out
 *   job take that row before any inbox head (share), as a change does: one
 *   lock order, no deadlock; and a fan-out job's release runs wholly before
 *   or after a change, so the version it leaves is dropped by one of them.
 * - Member lists are cached by `groupId/version` only once committed (a
 *   version never changes once written, and is read back by the pool or
 *   cached after COMMIT), so a rolled-back change leaves nothing behind.
 * - getGroup reads the group, its current version and the caller's
 *   membership in one statement (one snapshot), so a change committing
 *   between two reads cannot drop the version it was about to read.
 */
import { CgiError } from '../../errors.js';
import type { GroupEvent, GroupInfo } from '../api.js';
import { systemMessage, type MessageFacts } from '../message-rows.js';
import type { MessageFanoutJob } from '../queue/fanout.js';
import { newGroupId } from '../ids.js';
import { requireString, requireUidList } from '../validate.js';
import type { PgDb, PgTx } from './db.js';
import { requireUsers, rowsOf, type Reader } from './lookups.js';
import type { PgFanoutPart, PgInboxPart, PgMessagesPart, WebhookSink } from './parts.js';
import type { PgSocialOptions } from './contacts.js';

interface GroupRow extends Record<string, unknown> {
  name: string;
  owner: string;
  version: number;
  created_at: number;
}

const MAX_CACHED_VERSIONS = 2_000;

export class PgGroups {
  /** Committed member lists by `groupId/version`. */
  private readonly versions = new Map<string, readonly string[]>();

  constructor(
    private readonly db: PgDb,
    private readonly inbox: PgInboxPart,
    private readonly messages: PgMessagesPart,
    private readonly fanout: PgFanoutPart,
    private readonly webhooks: WebhookSink,
    private readonly maxMembers: number,
    private readonly opts: PgSocialOptions = {},
  ) {}

  createGroup(a: { owner: string; name: string; members: string[] }): Promise<{ groupId: string; members: string[] }> {
    requireString(a.name, 'name', 1024);
    requireUidList(a.members, 'members');
    return this.db.tx(async (tx) => {
      await requireUsers(tx, [a.owner]);
      const members = unique([a.owner, ...a.members]);
      await requireUsers(tx, members);
      this.checkCap(members.length);
      let groupId = newGroupId();
      while (await this.exists(tx, groupId)) groupId = newGroupId();
      await tx.query('INSERT INTO groups (group_id, name, owner, version, created_at) VALUES ($1, $2, $3, 1, $4)', [
        groupId,
        a.name,
        a.owner,
        tx.now,
      ]);
      await tx.query('INSERT INTO group_members (group_id, uid, joined_at) SELECT $1, u, $3 FROM unnest($2::text[]) AS u', [
        groupId,
        members,
        tx.now,
      ]);
      await tx.query('INSERT INTO group_versions (group_id, version, members) VALUES ($1, 1, $2)', [groupId, JSON.stringify(members)]);
      await this.postSystem(tx, groupId, 1, { kind: 'group_created', groupId, by: a.owner, members });
      if (this.webhooks.wants('group.created')) {
        await this.webhooks.emit(tx, 'group.created', { groupId, name: a.name, owner: a.owner, members });
      }
      return { groupId, members };
    });
  }

  addGroupMembers(a: { by: string; groupId: string; members: string[] }): Promise<{ members: string[] }> {
    requireUidList(a.members, 'members');
    return this.db.tx(async (tx) => {
      const g = await this.memberOf(tx, a.groupId, a.by, 'UPDATE');
      const current = await this.members(a.groupId, g.version, tx);
      const have = new Set(current);
      const added = unique(a.members).filter((u) => !have.has(u));
      if (added.length === 0) return { members: [...current] };
      await requireUsers(tx, added);
      this.checkCap(current.length + added.length);
      const next = [...current, ...added];
      await tx.query('INSERT INTO group_members (group_id, uid, joined_at) SELECT $1, u, $3 FROM unnest($2::text[]) AS u', [
        a.groupId,
        added,
        tx.now,
      ]);
      const version = await this.newVersion(tx, a.groupId, g, next, g.owner);
      const event: GroupEvent = { kind: 'members_added', groupId: a.groupId, by: a.by, members: added };
      await this.postSystem(tx, a.groupId, version, event);
      if (this.webhooks.wants('group.members_added')) await this.webhooks.emit(tx, 'group.members_added', event);
      return { members: next };
    });
  }

  removeGroupMembers(a: { by: string; groupId: string; members: string[] }): Promise<{ members: string[] }> {
    requireUidList(a.members, 'members');
    return this.db.tx(async (tx) => {
      const g = await this.memberOf(tx, a.groupId, a.by, 'UPDATE');
      const asked = unique(a.members);
      if (a.by !== g.owner && asked.some((u) => u !== a.by)) {
        throw new CgiError('FORBIDDEN', 'only the owner may remove other members');
      }
      const current = await this.members(a.groupId, g.version, tx);
      const gone = new Set(asked.filter((u) => current.includes(u)));
      if (gone.size === 0) return { members: [...current] };
      const next = current.filter((u) => !gone.has(u));
      const owner = gone.has(g.owner) && next.length > 0 ? next[0]! : g.owner;
      const event: GroupEvent = { kind: 'members_removed', groupId: a.groupId, by: a.by, members: [...gone] };
      if (owner !== g.owner) event.owner = owner;
      // The removal reaches the members before it (this version), so post before moving on.
      await this.postSystem(tx, a.groupId, g.version, event);
      await tx.query('DELETE FROM group_members WHERE group_id = $1 AND uid = ANY($2::text[])', [a.groupId, [...gone]]);
      await this.newVersion(tx, a.groupId, g, next, owner);
      if (this.webhooks.wants('group.members_removed')) await this.webhooks.emit(tx, 'group.members_removed', event);
      return { members: next };
    });
  }

  async getGroup(a: { uid: string; groupId: string }): Promise<GroupInfo> {
    const r =
      typeof a.groupId === 'string'
        ? (
            await this.db.query<GroupRow & { members: string | null; member: boolean }>(
              `SELECT g.name, g.owner, g.version, g.created_at, v.members,
                      EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = g.group_id AND gm.uid = $2) AS member
                 FROM groups g LEFT JOIN group_versions v ON v.group_id = g.group_id AND v.version = g.version
                WHERE g.group_id = $1`,
              [a.groupId, typeof a.uid === 'string' ? a.uid : null],
            )
          )[0]
        : undefined;
    if (!r) throw new CgiError('NO_SUCH_GROUP', 'no such group');
    if (typeof a.uid !== 'string' || !r.member) throw new CgiError('NOT_GROUP_MEMBER', 'not a member of this group');
    if (r.members === null) throw new Error(`group ${a.groupId} has no membership version ${r.version}`);
    return { groupId: a.groupId, name: r.name, owner: r.owner, members: JSON.parse(r.members) as string[], createdAt: r.created_at };
  }

  /** Whether the group exists (on the pool by default). */
  async exists(q: Reader, groupId: string): Promise<boolean> {
    return (await rowsOf(q, 'SELECT 1 FROM groups WHERE group_id = $1', [groupId])).length > 0;
  }

  /** The group's row FOR SHARE until the transaction ends (PgGroupsPart.share): first, before any inbox head. */
  async share(tx: PgTx, groupId: string): Promise<void> {
    if (typeof groupId === 'string') await tx.query('SELECT 1 FROM groups WHERE group_id = $1 FOR SHARE', [groupId]);
  }

  /**
   * The group's current version, for a post by `uid`: NO_SUCH_GROUP /
   * NOT_GROUP_MEMBER otherwise. Call it in the post's transaction: it holds the
   * group's row (FOR SHARE) until then, so the version stays current until the
   * post's fan-out job holds it (fanOut).
   */
  async versionForPost(tx: PgTx, groupId: string, uid: string): Promise<number> {
    return (await this.memberOf(tx, groupId, uid, 'SHARE')).version;
  }

  /**
   * The rest of a post of message `m` (whose poster's entry is written): the
   * other members' entries through a fan-out job of `version`, which holds the
   * version (pending_jobs) until the consumer releases it. Nothing when the
   * poster is the only member.
   */
  async fanOut(tx: PgTx, groupId: string, version: number, m: MessageFacts, mediaId: string | null): Promise<void> {
    const members = await this.members(groupId, version, tx);
    if (members.length === 1 && members[0] === m.from) return;
    const job: MessageFanoutJob = { m: m.id, g: groupId, v: version, x: m.from };
    if (mediaId !== null) job.media = mediaId;
    // The fan-out part enqueues it keyed by the group, holds the version (pending_jobs) and wakes its worker at commit.
    await this.fanout.enqueue(tx, groupId, job);
  }

  /**
   * The members of a version, in join order. Without `q` (or with the pool)
   * the committed version, cached; with a transaction, read in it (a version
   * it wrote, not yet committed, is not cached).
   */
  async members(groupId: string, version: number, q?: PgTx): Promise<readonly string[]> {
    const key = `${groupId}/${version}`;
    const cached = this.versions.get(key);
    if (cached) return cached;
    const rows = await rowsOf<{ members: string }>(
      q ?? this.db,
      'SELECT members FROM group_versions WHERE group_id = $1 AND version = $2',
      [groupId, version],
    );
    if (rows.length === 0) throw new Error(`group ${groupId} has no membership version ${version}`);
    const list = JSON.parse(rows[0]!.members) as string[];
    const keep = () => {
      if (this.versions.size >= MAX_CACHED_VERSIONS) this.versions.clear();
      this.versions.set(key, list);
    };
    if (q) q.after(keep);
    else keep();
    return list;
  }

  /** A fan-out job is finished with `version` (in its transaction): deleted once no job needs it and it is not current. */
  async release(tx: PgTx, groupId: string, version: number): Promise<void> {
    await tx.query('UPDATE group_versions SET pending_jobs = pending_jobs - 1 WHERE group_id = $1 AND version = $2', [groupId, version]);
    await this.dropIfUnused(tx, groupId, version);
  }

  private async postSystem(tx: PgTx, groupId: string, version: number, event: GroupEvent): Promise<void> {
    const m = await this.messages.insert(
      tx,
      systemMessage({ from: event.by, to: null, groupId, event, senderSeq: null, createdAt: tx.now }),
    );
    const seq = await this.inbox.append(tx, event.by, m);
    // The row records its poster's seq (SQLite reserves it before the insert; here it is known once appended).
    await tx.query('UPDATE messages SET sender_seq = $1 WHERE id = $2', [seq, m.id]);
    const count = this.opts.countSent;
    if (count) tx.after(() => count('system'));
    await this.fanOut(tx, groupId, version, m, null);
  }

  private async newVersion(tx: PgTx, groupId: string, g: GroupRow, members: readonly string[], owner: string): Promise<number> {
    const version = g.version + 1;
    await tx.query('INSERT INTO group_versions (group_id, version, members) VALUES ($1, $2, $3)', [
      groupId,
      version,
      JSON.stringify(members),
    ]);
    await tx.query('UPDATE groups SET version = $1, owner = $2 WHERE group_id = $3', [version, owner, groupId]);
    await this.dropIfUnused(tx, groupId, g.version);
    return version;
  }

  private async dropIfUnused(tx: PgTx, groupId: string, version: number): Promise<void> {
    const { rows } = await tx.query(
      `DELETE FROM group_versions WHERE group_id = $1 AND version = $2 AND pending_jobs <= 0
         AND version < (SELECT version FROM groups WHERE group_id = $1) RETURNING 1`,
      [groupId, version],
    );
    if (rows.length > 0) tx.after(() => this.versions.delete(`${groupId}/${version}`));
  }

  /** The group's row, locked for the transaction, when `uid` is a member: NO_SUCH_GROUP / NOT_GROUP_MEMBER otherwise. */
  private async memberOf(tx: PgTx, groupId: unknown, uid: unknown, lock: 'UPDATE' | 'SHARE'): Promise<GroupRow> {
    const g =
      typeof groupId === 'string'
        ? (await tx.query<GroupRow>(`SELECT name, owner, version, created_at FROM groups WHERE group_id = $1 FOR ${lock}`, [groupId]))
            .rows[0]
        : undefined;
    if (!g) throw new CgiError('NO_SUCH_GROUP', 'no such group');
    if (
      typeof uid !== 'string' ||
      (await rowsOf(tx, 'SELECT 1 FROM group_members WHERE group_id = $1 AND uid = $2', [groupId, uid])).length === 0
    ) {
      throw new CgiError('NOT_GROUP_MEMBER', 'not a member of this group');
    }
    return g;
  }

  private checkCap(count: number): void {
    if (count > this.maxMembers) {
      throw new CgiError('GROUP_FULL', `a group has at most ${this.maxMembers} members`, { maxMembers: this.maxMembers });
    }
  }
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}
