/**
 * Contacts and blocking over the real host (SPEC §6 Contacts): requests with
 * greetings, accepting (explicitly, or by asking back), declining, removing
 * from one's own list, repeats that write nothing, blocking and
 * messaging.contactsOnly (on a second host configured so).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, waitFor, type RunningHost, expectError, newUsers, type User } from '../helpers/index.js';
import { createGroup, inbox, send, sendGroupText, sendText } from '../messaging/client.js';
import { jpeg, sha256 } from '../media/files.js';
import { upload } from '../media/support.js';
import { befriend, call, CGIS_DIR, ok } from './support.js';

interface ContactList {
  contacts: Array<{ uid: string; username: string; displayName: string; since: number }>;
  incoming: Array<{ uid: string; greeting?: string; at: number }>;
  outgoing: Array<{ uid: string; at: number }>;
  blocked: string[];
}

let h: RunningHost;
let only: RunningHost;
beforeAll(async () => {
  h = await startHost({ cgisDir: CGIS_DIR, config: { watch: false } });
});
beforeAll(async () => {
  only = await startHost({ cgisDir: CGIS_DIR, config: { watch: false, messaging: { contactsOnly: true } } });
});
afterAll(async () => {
  await Promise.all([h?.stop(), only?.stop()]);
});

const contacts = (host: RunningHost, x: User) => ok<ContactList>(host, x, 'getcontacts');
const events = async (host: RunningHost, x: User, from = 0) => (await inbox(host, x, from)).map((m) => m.event);

describe('contact requests', () => {
  it('a request with a greeting reaches the other user as contact_request, once however often it is repeated', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    const before = Date.now();
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid, greeting: 'hi, it is me 👋' })).toEqual({ status: 'requested' });
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid, greeting: 'again' })).toEqual({ status: 'requested' });
    const got = await inbox(h, b!);
    expect(got).toEqual([
      {
        seq: 1,
        msgId: expect.any(String),
        from: a!.uid,
        to: b!.uid,
        type: 'system',
        event: { kind: 'contact_request', by: a!.uid, greeting: 'hi, it is me 👋' },
        createdAt: expect.any(Number),
      },
    ]);
    // The asker's own inbox is untouched; both see the request waiting.
    expect(await inbox(h, a!)).toEqual([]);
    const forB = await contacts(h, b!);
    expect(forB).toEqual({
      contacts: [],
      incoming: [{ uid: a!.uid, greeting: 'hi, it is me 👋', at: expect.any(Number) }],
      outgoing: [],
      blocked: [],
    });
    expect(forB.incoming[0]!.at).toBeGreaterThanOrEqual(before - 1000);
    expect(await contacts(h, a!)).toEqual({
      contacts: [],
      incoming: [],
      outgoing: [{ uid: b!.uid, at: forB.incoming[0]!.at }],
      blocked: [],
    });
  });

  it('accepting makes both contacts, each told by contact_added; accepting again writes nothing', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    await ok(h, a!, 'addcontact', { uid: b!.uid });
    expect((await inbox(h, b!))[0]!.event).toEqual({ kind: 'contact_request', by: a!.uid });
    expect(await ok(h, b!, 'acceptcontact', { uid: a!.uid })).toEqual({ status: 'added' });
    expect(await ok(h, b!, 'acceptcontact', { uid: a!.uid })).toEqual({ status: 'added' });
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid })).toEqual({ status: 'added' });
    const added = { kind: 'contact_added', by: b!.uid, members: [b!.uid, a!.uid] };
    expect(await events(h, a!)).toEqual([added]);
    expect(await events(h, b!, 1)).toEqual([added]);
    const forA = await contacts(h, a!);
    expect(forA).toEqual({
      contacts: [{ uid: b!.uid, username: b!.username, displayName: b!.username, since: expect.any(Number) }],
      incoming: [],
      outgoing: [],
      blocked: [],
    });
    expect((await contacts(h, b!)).contacts.map((c) => c.uid)).toEqual([a!.uid]);
  });

  it('asking someone who already asked you makes you contacts at once', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    await ok(h, a!, 'addcontact', { uid: b!.uid, greeting: 'hello' });
    expect(await ok(h, b!, 'addcontact', { uid: a!.uid, greeting: 'oh hi' })).toEqual({ status: 'added' });
    const added = { kind: 'contact_added', by: b!.uid, members: [b!.uid, a!.uid] };
    expect(await events(h, a!)).toEqual([added]);
    expect(await events(h, b!)).toEqual([{ kind: 'contact_request', by: a!.uid, greeting: 'hello' }, added]);
    expect((await contacts(h, a!)).contacts.map((c) => c.uid)).toEqual([b!.uid]);
    expect((await contacts(h, b!)).incoming).toEqual([]);
  });

  it('declining drops the request without telling the asker; accepting then is 403 FORBIDDEN', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    await ok(h, a!, 'addcontact', { uid: b!.uid });
    expect(await ok(h, b!, 'declinecontact', { uid: a!.uid })).toEqual({});
    expect(await ok(h, b!, 'declinecontact', { uid: a!.uid })).toEqual({});
    expect(await contacts(h, b!)).toEqual({ contacts: [], incoming: [], outgoing: [], blocked: [] });
    expect(await contacts(h, a!)).toEqual({ contacts: [], incoming: [], outgoing: [], blocked: [] });
    expect(await inbox(h, a!)).toEqual([]);
    expectError(await call(h, b!, 'acceptcontact', { uid: a!.uid }), 403, 'FORBIDDEN');
    // Asking again works.
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid })).toEqual({ status: 'requested' });
    expect((await contacts(h, b!)).incoming.map((r) => r.uid)).toEqual([a!.uid]);
  });

  it('delcontact removes the contact from the caller list only; asking back needs no new acceptance', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    await befriend(h, a!, b!);
    expect(await ok(h, a!, 'delcontact', { uid: b!.uid })).toEqual({});
    expect(await ok(h, a!, 'delcontact', { uid: b!.uid })).toEqual({});
    expect((await contacts(h, a!)).contacts).toEqual([]);
    expect((await contacts(h, b!)).contacts.map((c) => c.uid)).toEqual([a!.uid]);
    const bSeq = (await inbox(h, b!)).length;
    // b still lists a: a adding b back is immediate, and both are told.
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid })).toEqual({ status: 'added' });
    expect((await contacts(h, a!)).contacts.map((c) => c.uid)).toEqual([b!.uid]);
    expect(await events(h, b!, bSeq)).toEqual([{ kind: 'contact_added', by: a!.uid, members: [a!.uid, b!.uid] }]);
  });

  it('refuses bad input: yourself, unknown users, greetings over 200 code points, missing uid', async () => {
    const [a, b] = await newUsers(h, 2, 'ct');
    for (const name of ['addcontact', 'acceptcontact', 'declinecontact', 'delcontact', 'blockuser', 'unblockuser']) {
      expectError(await call(h, a!, name, { uid: a!.uid }), 400, 'INVALID_INPUT');
      expectError(await call(h, a!, name, { uid: 'u0000000000000000' }), 404, 'NO_SUCH_USER');
      expectError(await call(h, a!, name, {}), 400, 'INVALID_INPUT');
      expectError(await h.post(name, { uid: b!.uid }), 401, 'UNAUTHENTICATED');
    }
    expectError(await call(h, a!, 'addcontact', { uid: b!.uid, greeting: 'x'.repeat(201) }), 400, 'INVALID_INPUT');
    expectError(await call(h, a!, 'addcontact', { uid: b!.uid, greeting: '\udc00' }), 400, 'INVALID_INPUT');
    expect(await ok(h, a!, 'addcontact', { uid: b!.uid, greeting: '🙂'.repeat(200) })).toEqual({ status: 'requested' });
    expect((await contacts(h, b!)).incoming[0]!.greeting).toBe('🙂'.repeat(200));
  });
});

describe('blocking', () => {
  it("while A blocks B, B's 1:1 messages and requests to A get 403 BLOCKED and reach nobody; A may still write to B", async () => {
    const [a, b] = await newUsers(h, 2, 'bk');
    await befriend(h, a!, b!);
    const aBefore = (await inbox(h, a!)).length;
    const bBefore = (await inbox(h, b!)).length;
    expect(await ok(h, a!, 'blockuser', { uid: b!.uid })).toEqual({});
    expect(await ok(h, a!, 'blockuser', { uid: b!.uid })).toEqual({});
    expect((await contacts(h, a!)).blocked).toEqual([b!.uid]);
    expectError(await send(h, b!, { to: a!.uid, content: 'let me in' }), 403, 'BLOCKED');
    const img = jpeg();
    expect((await upload(h, img, 'image/jpeg', b!.token)).status).toBe(200);
    expectError(
      await call(h, b!, 'sendmediamsg', { to: a!.uid, type: 'image', mediaId: sha256(img), clientMsgId: 'blocked-img' }),
      403,
      'BLOCKED',
    );
    expectError(await call(h, b!, 'addcontact', { uid: a!.uid, greeting: 'please' }), 403, 'BLOCKED');
    expect(await inbox(h, a!, aBefore)).toEqual([]);
    expect(await inbox(h, b!, bBefore)).toEqual([]);
    // The blocker is not blocked.
    await sendText(h, a!, b!, 'I can still talk');
    expect((await inbox(h, b!, bBefore)).map((m) => m.content)).toEqual(['I can still talk']);
    // Contacts are kept; unblocking lets messages through again.
    expect((await contacts(h, a!)).contacts.map((c) => c.uid)).toEqual([b!.uid]);
    expect(await ok(h, a!, 'unblockuser', { uid: b!.uid })).toEqual({});
    expect(await ok(h, a!, 'unblockuser', { uid: b!.uid })).toEqual({});
    expect((await contacts(h, a!)).blocked).toEqual([]);
    await sendText(h, b!, a!, 'thanks');
    expect((await inbox(h, a!, aBefore)).map((m) => m.content)).toEqual(['I can still talk', 'thanks']);
  });

  it('does not touch group messages', async () => {
    const [a, b, c] = await newUsers(h, 3, 'bk');
    const { groupId } = await createGroup(h, a!, [b!, c!], 'blocks');
    await ok(h, a!, 'blockuser', { uid: b!.uid });
    await sendGroupText(h, b!, groupId, 'in the group');
    const texts = await waitFor(async () => {
      const t = (await inbox(h, a!)).filter((m) => m.type === 'text');
      return t.length > 0 ? t : undefined;
    });
    expect(texts!.map((m) => m.content)).toEqual(['in the group']);
  });

  it('drops the requests waiting between the two, both ways', async () => {
    const [a, b, c] = await newUsers(h, 3, 'bk');
    await ok(h, b!, 'addcontact', { uid: a!.uid });
    await ok(h, a!, 'addcontact', { uid: c!.uid });
    await ok(h, a!, 'blockuser', { uid: b!.uid });
    await ok(h, c!, 'blockuser', { uid: a!.uid });
    expect(await contacts(h, a!)).toEqual({ contacts: [], incoming: [], outgoing: [], blocked: [b!.uid] });
    expect(await contacts(h, b!)).toEqual({ contacts: [], incoming: [], outgoing: [], blocked: [] });
    expectError(await call(h, a!, 'acceptcontact', { uid: b!.uid }), 403, 'FORBIDDEN');
  });
});

describe('messaging.contactsOnly', () => {
  it('refuses a 1:1 message to a non-contact with 403 NOT_A_CONTACT (reaching nobody), until both list each other', async () => {
    const [a, b, c] = await newUsers(only, 3, 'co');
    expectError(await send(only, a!, { to: b!.uid, content: 'hi stranger' }), 403, 'NOT_A_CONTACT');
    expect(await inbox(only, b!)).toEqual([]);
    expect(await inbox(only, a!)).toEqual([]);
    // Requests are how strangers meet.
    await befriend(only, a!, b!);
    await sendText(only, a!, b!, 'hi friend');
    await sendText(only, b!, a!, 'hi back');
    // Writing to oneself is always allowed.
    await sendText(only, c!, c!, 'note to self');
    // Removed from one list: no longer contacts, either way.
    await ok(only, b!, 'delcontact', { uid: a!.uid });
    expectError(await send(only, a!, { to: b!.uid, content: 'still there?' }), 403, 'NOT_A_CONTACT');
    expectError(await send(only, b!, { to: a!.uid, content: 'bye' }), 403, 'NOT_A_CONTACT');
  });

  it('does not apply to groups, and BLOCKED still wins for a blocked sender', async () => {
    const [a, b, c] = await newUsers(only, 3, 'co');
    const { groupId } = await createGroup(only, a!, [b!, c!], 'strangers');
    await sendGroupText(only, b!, groupId, 'hello all');
    await ok(only, a!, 'blockuser', { uid: b!.uid });
    expectError(await send(only, b!, { to: a!.uid, content: 'x' }), 403, 'BLOCKED');
  });
});
