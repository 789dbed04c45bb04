/**
 * A stand-in for the PostgreSQL groups part in the store's own tests, while
 * that part is built on its own branch: createGroup (with its group_created
 * post and fan-out), getGroup, and what sending and fan-out ask of groups
 * (versionForPost, members, release), after groups.ts. Adding and removing
 * members are not here.
 */
import { CgiError } from '../../src/errors.js';
import type { GroupEvent } from '../../src/store/api.js';
import { newGroupId } from '../../src/store/ids.js';
import type { PgGroupsPart, PgPartContext } from '../../src/store/pg/store.js';

export function testGroupsPart(ctx: PgPartContext): PgGroupsPart {
  const { db, inbox, messages, fanout } = ctx;
  const memberOf = async (groupId: string, uid: string) => {
    const g = await db.query<{ name: string; owner: string; version: number; created_at: number }>(
      'SELECT name, owner, version, created_at FROM groups WHERE group_id = $1',
      [groupId],
    );
    if (!g[0]) throw new CgiError('NO_SUCH_GROUP', 'no such group');
    const m = await db.query('SELECT 1 FROM group_members WHERE group_id = $1 AND uid = $2', [groupId, uid]);
    if (m.length === 0) throw new CgiError('NOT_GROUP_MEMBER', 'not a member of this group');
    return g[0];
  };
  const members = async (groupId: string, version: number) => {
    const r = await db.query<{ members: string }>('SELECT members FROM group_versions WHERE group_id = $1 AND version = $2', [
      groupId,
      version,
    ]);
    if (!r[0]) throw new Error(`group ${groupId} has no membership version ${version}`);
    return JSON.parse(r[0].members) as string[];
  };
  const notHere = async (): Promise<never> => {
    throw new CgiError('INTERNAL', 'not in the test groups part');
  };
  return {
    async createGroup(a) {
      return db.tx(async (tx) => {
        const list = [...new Set([a.owner, ...a.members])];
        await ctx.requireUsers(list, tx);
        const groupId = newGroupId();
        await tx.query('INSERT INTO groups (group_id, name, owner, version, created_at) VALUES ($1, $2, $3, 1, $4)', [
          groupId,
          a.name,
          a.owner,
          tx.now,
        ]);
        for (const uid of list)
          await tx.query('INSERT INTO group_members (group_id, uid, joined_at) VALUES ($1, $2, $3)', [groupId, uid, tx.now]);
        await tx.query('INSERT INTO group_versions (group_id, version, members) VALUES ($1, 1, $2)', [groupId, JSON.stringify(list)]);
        const event: GroupEvent = { kind: 'group_created', groupId, by: a.owner, members: list };
        const seq = await inbox.reserve(tx, a.owner);
        const m = await messages.insert(tx, {
          from: a.owner,
          to: null,
          groupId,
          type: 'system',
          content: null,
          mediaId: null,
          durationMs: null,
          event,
          clientMsgId: null,
          senderSeq: seq,
          createdAt: tx.now,
        });
        await inbox.put(tx, a.owner, seq, m);
        if (list.length > 1) await fanout.enqueue(tx, groupId, { m: m.id, g: groupId, v: 1, x: a.owner });
        return { groupId, members: list };
      });
    },
    async getGroup(a) {
      const g = await memberOf(a.groupId, a.uid);
      return { groupId: a.groupId, name: g.name, owner: g.owner, members: await members(a.groupId, g.version), createdAt: g.created_at };
    },
    addGroupMembers: notHere,
    removeGroupMembers: notHere,
    async versionForPost(_tx, groupId, from) {
      return (await memberOf(groupId, from)).version;
    },
    members,
    async release(tx, groupId, version) {
      await tx.query('UPDATE group_versions SET pending_jobs = pending_jobs - 1 WHERE group_id = $1 AND version = $2', [groupId, version]);
    },
  };
}
