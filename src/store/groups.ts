/**
 * Groups: membership, membership versions, and group posts (a message stored
 * once, the poster's own entry written at once, the others' by the fan-out queue).
 *
 * Every membership change makes a new version holding the member list. A
 * fan-out job names the version current when it was made, so it reaches exactly
 * the members of that moment: someone added later gets nothing older, someone
 * removed gets nothing newer, however far the queue lags.
 *
 * System entries, and who gets them:
 *   group_created   all initial members (the owner included);
 *   members_added   every member after the change (the added ones included);
 *   members_removed every member before the change (the removed ones included,
 *                   so their clients learn of it; nothing after reaches them).
 * The actor's entry is written at once, like a sender's.
 *
 * The owner may remove themselves: ownership passes to the member who has been
 * in the group longest (`event.owner` names the new owner). When the last member
 * leaves, the group stays, with no members, and nobody can act on it.
 */
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { CgiError } from '../errors.js';
import type { GroupEvent, GroupInfo } from './api.js';
import type { Accounts } from './accounts.js';
import type { Inbox } from './inbox.js';
import { systemMessage, type MessageFacts, type MessageRows } from './message-rows.js';
import type { JobQueue } from './queue/jobs.js';
import { FANOUT, type MessageFanoutJob } from './queue/fanout.js';
import type { WebhookDispatcher } from './queue/webhooks.js';
import { newGroupId } from './ids.js';
import { requireString, requireUidList } from './validate.js';

interface GroupRow {
  name: string;
  owner: string;
  version: number;
  created_at: number;
}

const MAX_CACHED_VERSIONS = 2_000;

export class Groups {
  /** Member lists by `groupId/version`; a version never changes once written. */
  private readonly versions = new Map<string, readonly string[]>();
  private readonly s: ReturnType<typeof statements>;

  constructor(
    db: Db,
    private readonly accounts: Accounts,
    private readonly inbox: Inbox,
    private readonly rows: MessageRows,
    private readonly jobs: JobQueue,
    private readonly webhooks: WebhookDispatcher,
    private readonly maxMembers: number,
  ) {
    this.s = statements(db);
  }

  createGroup(tx: Tx, a: { owner: string; name: string; members: string[] }): { groupId: string; members: string[] } {
    requireString(a.name, 'name', 1024);
    requireUidList(a.members, 'members');
    this.accounts.requireUsers([a.owner]);
    const members = unique([a.owner, ...a.members]);
    this.accounts.requireUsers(members);
    this.checkCap(members.length);
    let groupId = newGroupId();
    while (this.s.group.get(groupId)) groupId = newGroupId();
    this.s.insertGroup.run(groupId, a.name, a.owner, 1, tx.now);
    for (const uid of members) this.s.insertMember.run(groupId, uid, tx.now);
    this.s.insertVersion.run(groupId, 1, JSON.stringify(members));
    this.postSystem(tx, groupId, 1, { kind: 'group_created', groupId, by: a.owner, members });
    if (this.webhooks.wants('group.created')) {
      this.webhooks.emit(tx, 'group.created', { groupId, name: a.name, owner: a.owner, members });
    }
    return { groupId, members };
  }

  addGroupMembers(tx: Tx, a: { by: string; groupId: string; members: string[] }): { members: string[] } {
    requireUidList(a.members, 'members');
    const g = this.memberOf(a.groupId, a.by);
    const current = this.members(a.groupId, g.version);
    const have = new Set(current);
    const added = unique(a.members).filter((u) => !have.has(u));
    if (added.length === 0) return { members: [...current] };
    this.accounts.requireUsers(added);
    this.checkCap(current.length + added.length);
    const next = [...current, ...added];
    for (const uid of added) this.s.insertMember.run(a.groupId, uid, tx.now);
    const version = this.newVersion(a.groupId, g, next, g.owner);
    const event: GroupEvent = { kind: 'members_added', groupId: a.groupId, by: a.by, members: added };
    this.postSystem(tx, a.groupId, version, event);
    if (this.webhooks.wants('group.members_added')) this.webhooks.emit(tx, 'group.members_added', event);
    return { members: next };
  }

  removeGroupMembers(tx: Tx, a: { by: string; groupId: string; members: string[] }): { members: string[] } {
    requireUidList(a.members, 'members');
    const g = this.memberOf(a.groupId, a.by);
    const asked = unique(a.members);
    if (a.by !== g.owner && asked.some((u) => u !== a.by)) {
      throw new CgiError('FORBIDDEN', 'only the owner may remove other members');
    }
    const current = this.members(a.groupId, g.version);
    const gone = new Set(asked.filter((u) => current.includes(u)));
    if (gone.size === 0) return { members: [...current] };
    const next = current.filter((u) => !gone.has(u));
    const owner = gone.has(g.owner) && next.length > 0 ? next[0]! : g.owner;
    const event: GroupEvent = { kind: 'members_removed', groupId: a.groupId, by: a.by, members: [...gone] };
    if (owner !== g.owner) event.owner = owner;
    // The removal reaches the members before it (this version), so post before moving on.
    this.postSystem(tx, a.groupId, g.version, event);
    for (const uid of gone) this.s.deleteMember.run(a.groupId, uid);
    this.newVersion(a.groupId, g, next, owner);
    if (this.webhooks.wants('group.members_removed')) this.webhooks.emit(tx, 'group.members_removed', event);
    return { members: next };
  }

  getGroup(a: { uid: string; groupId: string }): GroupInfo {
    const g = this.memberOf(a.groupId, a.uid);
    return { groupId: a.groupId, name: g.name, owner: g.owner, members: [...this.members(a.groupId, g.version)], createdAt: g.created_at };
  }

  exists(groupId: string): boolean {
    return this.s.group.get(groupId) !== undefined;
  }

  /** The group's current version, for a post by `uid`: NO_SUCH_GROUP / NOT_GROUP_MEMBER otherwise. */
  versionForPost(groupId: string, uid: string): number {
    return this.memberOf(groupId, uid).version;
  }

  /**
   * Posts message `m` (already holding its poster's seq) to the group:
   * the poster's entry now, everyone else's through a fan-out job.
   */
  post(tx: Tx, groupId: string, version: number, posterSeq: number, m: MessageFacts, mediaId: string | null): void {
    const poster = m.from;
    this.inbox.put(tx, poster, posterSeq, m);
    const members = this.members(groupId, version);
    if (members.length === 1 && members[0] === poster) return;
    const job: MessageFanoutJob = { m: m.id, g: groupId, v: version, x: poster };
    if (mediaId !== null) job.media = mediaId;
    this.jobs.enqueue(tx, FANOUT, JSON.stringify(job));
    this.s.hold.run(groupId, version);
  }

  /** The members of a version, in join order. */
  members(groupId: string, version: number): readonly string[] {
    const key = `${groupId}/${version}`;
    let list = this.versions.get(key);
    if (!list) {
      const json = this.s.version.get(groupId, version);
      if (json === undefined) throw new Error(`group ${groupId} has no membership version ${version}`);
      list = JSON.parse(json) as string[];
      if (this.versions.size >= MAX_CACHED_VERSIONS) this.versions.clear();
      this.versions.set(key, list);
    }
    return list;
  }

  /** A fan-out job is finished with `version`: delete it once no job needs it and it is not current. */
  release(groupId: string, version: number): void {
    this.s.unhold.run(groupId, version);
    if (this.s.dropIfUnused.run(groupId, version, groupId).changes > 0) this.versions.delete(`${groupId}/${version}`);
  }

  /** A transaction was lost: versions read inside it may not exist. */
  forget(): void {
    this.versions.clear();
  }

  private postSystem(tx: Tx, groupId: string, version: number, event: GroupEvent): void {
    const seq = this.inbox.reserve(event.by);
    const m = this.rows.insert(systemMessage({ from: event.by, to: null, groupId, event, senderSeq: seq, createdAt: tx.now }));
    tx.countSent('system');
    this.post(tx, groupId, version, seq, m, null);
  }

  private newVersion(groupId: string, g: GroupRow, members: readonly string[], owner: string): number {
    const version = g.version + 1;
    this.s.insertVersion.run(groupId, version, JSON.stringify(members));
    this.s.setVersion.run(version, owner, groupId);
    if (this.s.dropIfUnused.run(groupId, g.version, groupId).changes > 0) this.versions.delete(`${groupId}/${g.version}`);
    return version;
  }

  private memberOf(groupId: unknown, uid: unknown): GroupRow {
    const g = typeof groupId === 'string' ? this.s.group.get(groupId) : undefined;
    if (!g) throw new CgiError('NO_SUCH_GROUP', 'no such group');
    if (typeof uid !== 'string' || this.s.isMember.get(groupId as string, uid) === undefined) {
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

function statements(db: Db) {
  return {
    group: db.prepare<[string], GroupRow>('SELECT name, owner, version, created_at FROM groups WHERE group_id = ?'),
    isMember: db.prepare<[string, string], number>('SELECT 1 FROM group_members WHERE group_id = ? AND uid = ?').pluck(),
    insertGroup: db.prepare<[string, string, string, number, number]>(
      'INSERT INTO groups (group_id, name, owner, version, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    setVersion: db.prepare<[number, string, string]>('UPDATE groups SET version = ?, owner = ? WHERE group_id = ?'),
    insertMember: db.prepare<[string, string, number]>('INSERT INTO group_members (group_id, uid, joined_at) VALUES (?, ?, ?)'),
    deleteMember: db.prepare<[string, string]>('DELETE FROM group_members WHERE group_id = ? AND uid = ?'),
    insertVersion: db.prepare<[string, number, string]>('INSERT INTO group_versions (group_id, version, members) VALUES (?, ?, ?)'),
    version: db.prepare<[string, number], string>('SELECT members FROM group_versions WHERE group_id = ? AND version = ?').pluck(),
    hold: db.prepare<[string, number]>('UPDATE group_versions SET pending_jobs = pending_jobs + 1 WHERE group_id = ? AND version = ?'),
    unhold: db.prepare<[string, number]>('UPDATE group_versions SET pending_jobs = pending_jobs - 1 WHERE group_id = ? AND version = ?'),
    dropIfUnused: db.prepare<[string, number, string]>(
      `DELETE FROM group_versions WHERE group_id = ? AND version = ? AND pending_jobs <= 0
         AND version < (SELECT version FROM groups WHERE group_id = ?)`,
    ),
  };
}
