/**
 * Group membership over the real host (SPEC §4 Groups): create, get, add,
 * remove, rights of owner and members, the members cap, and who may send.
 * The host runs with `groups.maxMembers: 5` so the cap is cheap to reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, send } from '../messaging/client.js';
import { expectError, newUsers, PROJECT_CGIS, type RunningHost, startHost, type User } from '../helpers/index.js';

let h: RunningHost;
let u: User[];
beforeAll(async () => {
  h = await startHost({ cgisDir: PROJECT_CGIS, config: { groups: { maxMembers: 5 } } });
});
beforeAll(async () => {
  u = await newUsers(h, 8, 'gm');
});
afterAll(async () => {
  await h?.stop();
});

const uids = (...us: User[]) => us.map((x) => x.uid);

describe('creategroup', () => {
  it('makes the creator owner and member, and dedupes members', async () => {
    const [a, b, c] = u as [User, User, User];
    const before = Date.now();
    const r = await h.post('creategroup', { name: 'Friends 🎉', members: [b.uid, c.uid, b.uid, a.uid] }, { token: a.token });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['groupId', 'members']);
    expect(typeof r.body.groupId).toBe('string');
    expect(r.body.members).toHaveLength(3);
    expect([...r.body.members].sort()).toEqual(uids(a, b, c).sort());
    const g = await h.post('getgroup', { groupId: r.body.groupId }, { token: b.token });
    expect(g.status, g.text).toBe(200);
    expect(g.body).toEqual({
      groupId: r.body.groupId,
      name: 'Friends 🎉',
      owner: a.uid,
      members: r.body.members,
      createdAt: g.body.createdAt,
    });
    expect(Number.isInteger(g.body.createdAt)).toBe(true);
    expect(g.body.createdAt).toBeGreaterThanOrEqual(before - 1000);
  });

  it('makes a group of one when no members are given', async () => {
    const [a] = u as [User];
    const r = await createGroup(h, a, [], 'solo');
    expect(r.members).toEqual([a.uid]);
  });

  it('refuses an unknown member with 404 NO_SUCH_USER, and a bad name with 400', async () => {
    const [a, b] = u as [User, User];
    expectError(await h.post('creategroup', { name: 'x', members: [b.uid, 'u0000000000000000'] }, { token: a.token }), 404, 'NO_SUCH_USER');
    expectError(await h.post('creategroup', { name: '', members: [] }, { token: a.token }), 400, 'INVALID_INPUT');
    expectError(await h.post('creategroup', { name: 'x'.repeat(65), members: [] }, { token: a.token }), 400, 'INVALID_INPUT');
    expectError(await h.post('creategroup', { name: 'x' }, { token: a.token }), 400, 'INVALID_INPUT');
    expectError(await h.post('creategroup', { name: 'x', members: 'nope' }, { token: a.token }), 400, 'INVALID_INPUT');
  });
});

describe('getgroup', () => {
  it('answers members only: 403 NOT_GROUP_MEMBER for others, 404 NO_SUCH_GROUP for none', async () => {
    const [a, b, , d] = u as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b]);
    expect((await h.post('getgroup', { groupId }, { token: a.token })).status).toBe(200);
    expectError(await h.post('getgroup', { groupId }, { token: d.token }), 403, 'NOT_GROUP_MEMBER');
    expectError(await h.post('getgroup', { groupId: 'g-does-not-exist' }, { token: a.token }), 404, 'NO_SUCH_GROUP');
    expectError(await h.post('getgroup', {}, { token: a.token }), 400, 'INVALID_INPUT');
  });
});

describe('addgroupmember', () => {
  it('lets any member add, and answers the new member list', async () => {
    const [a, b, c, d] = u as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b]);
    // b is not the owner, and may add.
    const r = await h.post('addgroupmember', { groupId, members: [c.uid, c.uid] }, { token: b.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ members: uids(a, b, c) });
    // Adding someone already in is no change.
    const again = await h.post('addgroupmember', { groupId, members: [a.uid, c.uid] }, { token: c.token });
    expect(again.body).toEqual({ members: uids(a, b, c) });
    expect((await h.post('getgroup', { groupId }, { token: c.token })).body.members).toEqual(uids(a, b, c));
    // A non-member may not add, not even themselves.
    expectError(await h.post('addgroupmember', { groupId, members: [d.uid] }, { token: d.token }), 403, 'NOT_GROUP_MEMBER');
    expectError(await h.post('addgroupmember', { groupId: 'g-none', members: [d.uid] }, { token: a.token }), 404, 'NO_SUCH_GROUP');
    expectError(await h.post('addgroupmember', { groupId, members: ['u0000000000000000'] }, { token: a.token }), 404, 'NO_SUCH_USER');
    expectError(await h.post('addgroupmember', { groupId, members: [] }, { token: a.token }), 400, 'INVALID_INPUT');
    expect((await h.post('getgroup', { groupId }, { token: a.token })).body.members).toEqual(uids(a, b, c));
  });
});

describe('delgroupmember', () => {
  it('lets the owner remove anyone', async () => {
    const [a, b, c] = u as [User, User, User];
    const { groupId } = await createGroup(h, a, [b, c]);
    const r = await h.post('delgroupmember', { groupId, members: [b.uid] }, { token: a.token });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ members: uids(a, c) });
    expectError(await h.post('getgroup', { groupId }, { token: b.token }), 403, 'NOT_GROUP_MEMBER');
    expect((await h.post('getgroup', { groupId }, { token: c.token })).body.members).toEqual(uids(a, c));
  });

  it('lets a member remove themselves, but nobody else: 403 FORBIDDEN', async () => {
    const [a, b, c, d] = u as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c]);
    expectError(await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: b.token }), 403, 'FORBIDDEN');
    expectError(await h.post('delgroupmember', { groupId, members: [a.uid] }, { token: b.token }), 403, 'FORBIDDEN');
    expectError(await h.post('delgroupmember', { groupId, members: [b.uid, c.uid] }, { token: b.token }), 403, 'FORBIDDEN');
    expect((await h.post('getgroup', { groupId }, { token: a.token })).body.members).toEqual(uids(a, b, c));
    const self = await h.post('delgroupmember', { groupId, members: [b.uid] }, { token: b.token });
    expect(self.status, self.text).toBe(200);
    expect(self.body).toEqual({ members: uids(a, c) });
    // Once out, b can do nothing with the group; outsiders neither.
    expectError(await h.post('delgroupmember', { groupId, members: [b.uid] }, { token: b.token }), 403, 'NOT_GROUP_MEMBER');
    expectError(await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: d.token }), 403, 'NOT_GROUP_MEMBER');
    expectError(await h.post('delgroupmember', { groupId: 'g-none', members: [c.uid] }, { token: a.token }), 404, 'NO_SUCH_GROUP');
  });

  it('when the owner leaves, the longest-standing member becomes owner', async () => {
    const [a, b, c] = u as [User, User, User];
    const { groupId } = await createGroup(h, a, [b, c]);
    const r = await h.post('delgroupmember', { groupId, members: [a.uid] }, { token: a.token });
    expect(r.status, r.text).toBe(200);
    const g = await h.post('getgroup', { groupId }, { token: b.token });
    expect(g.body.owner).toBe(b.uid);
    expect(g.body.members).toEqual(uids(b, c));
    // The new owner has the owner's rights.
    expect((await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: b.token })).status).toBe(200);
  });
});

describe('the members cap (groups.maxMembers: 5)', () => {
  it('refuses to create a group over the cap with 409 GROUP_FULL', async () => {
    const [a, b, c, d, e, f] = u as [User, User, User, User, User, User];
    expectError(await h.post('creategroup', { name: 'six', members: uids(b, c, d, e, f) }, { token: a.token }), 409, 'GROUP_FULL');
    // The creator counts, duplicates do not.
    const five = await h.post('creategroup', { name: 'five', members: uids(b, c, d, e, b, a) }, { token: a.token });
    expect(five.status, five.text).toBe(200);
    expect(five.body.members).toHaveLength(5);
  });

  it('refuses to add past the cap with 409 GROUP_FULL, changing nothing', async () => {
    const [a, b, c, d, e, f, g] = u as [User, User, User, User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c]);
    expectError(await h.post('addgroupmember', { groupId, members: uids(d, e, f) }, { token: b.token }), 409, 'GROUP_FULL');
    expect((await h.post('getgroup', { groupId }, { token: a.token })).body.members).toEqual(uids(a, b, c));
    expect((await h.post('addgroupmember', { groupId, members: uids(d, e) }, { token: b.token })).body.members).toEqual(
      uids(a, b, c, d, e),
    );
    expectError(await h.post('addgroupmember', { groupId, members: [f.uid] }, { token: a.token }), 409, 'GROUP_FULL');
    // A place freed is a place to fill.
    expect((await h.post('delgroupmember', { groupId, members: [e.uid] }, { token: e.token })).status).toBe(200);
    expect((await h.post('addgroupmember', { groupId, members: [g.uid] }, { token: a.token })).body.members).toEqual(uids(a, b, c, d, g));
  });
});

describe('sending to a group', () => {
  it('is for members only: 403 NOT_GROUP_MEMBER, 404 NO_SUCH_GROUP', async () => {
    const [a, b, c, d] = u as [User, User, User, User];
    const { groupId } = await createGroup(h, a, [b, c]);
    expect((await send(h, b, { groupId, content: 'member' })).status).toBe(200);
    expectError(await send(h, d, { groupId, content: 'outsider' }), 403, 'NOT_GROUP_MEMBER');
    expectError(await send(h, d, { groupId: 'g-none', content: 'nowhere' }), 404, 'NO_SUCH_GROUP');
    expect((await h.post('delgroupmember', { groupId, members: [c.uid] }, { token: a.token })).status).toBe(200);
    expectError(await send(h, c, { groupId, content: 'removed' }), 403, 'NOT_GROUP_MEMBER');
  });
});
