/**
 * The client's inbox logic (web/src/state/inbox.ts), without a browser: each
 * entry lands in its conversation, unread counts follow SPEC §6, a replayed
 * or overlapping entry changes nothing, and receipts and recalls apply.
 */
import { describe, expect, it } from 'vitest';
import type { InboxEntry } from '../../web/src/api/types.ts';
import { applyEntries, convKeyOf, countUnread, mergeIntoThread, readUpToSeq } from '../../web/src/state/inbox.ts';
import { emptyState, type State, type Thread } from '../../web/src/state/store.ts';

const ME = 'u-me';
const PEER = 'u-peer';
let clock = 1_700_000_000_000;

function text(seq: number, from: string, content = `m${seq}`, extra: Partial<InboxEntry> = {}): InboxEntry {
  return { seq, msgId: `m${seq}`, from, to: from === ME ? PEER : ME, type: 'text', content, createdAt: clock++, ...extra } as InboxEntry;
}

function system(seq: number, from: string, event: InboxEntry['event'], extra: Partial<InboxEntry> = {}): InboxEntry {
  return { seq, msgId: `m${seq}`, from, type: 'system', event, createdAt: clock++, ...extra } as InboxEntry;
}

function state(patch: Partial<State> = {}): State {
  return { ...emptyState({ uid: ME, token: 't', username: 'me' }), ...patch };
}

function apply(s: State, entries: InboxEntry[]) {
  const r = applyEntries(s, ME, entries);
  return { s: { ...s, ...r.patch }, effects: r.effects };
}

const thread = (messages: InboxEntry[], more = false): Thread => ({ messages, more, loading: false, fresh: true });

describe('convKeyOf', () => {
  it('files 1:1 entries under the other person, group entries under the group, contact requests nowhere', () => {
    expect(convKeyOf(text(1, PEER), ME)).toBe(`u:${PEER}`);
    expect(convKeyOf(text(2, ME), ME)).toBe(`u:${PEER}`);
    expect(convKeyOf({ ...text(3, PEER), to: undefined, groupId: 'g1' }, ME)).toBe('g:g1');
    expect(convKeyOf(system(4, PEER, { kind: 'receipt', by: PEER, upTo: 'm2' }, { to: ME }), ME)).toBe(`u:${PEER}`);
    expect(convKeyOf(system(5, PEER, { kind: 'contact_request', by: PEER }, { to: ME }), ME)).toBeNull();
    expect(convKeyOf(system(6, ME, { kind: 'read', peer: PEER, seq: 3 }), ME)).toBe(`u:${PEER}`);
    expect(convKeyOf(system(7, PEER, { kind: 'group_created', groupId: 'g2', by: PEER, members: [PEER, ME] }), ME)).toBe('g:g2');
  });
});

describe('applyEntries', () => {
  it('moves a conversation up and counts messages from others as unread, once', () => {
    const entries = [text(1, PEER), text(2, ME), text(3, PEER)];
    const { s, effects } = apply(state(), entries);
    const c = s.conversations[`u:${PEER}`]!;
    expect(c).toMatchObject({ peer: PEER, lastSeq: 3, unread: 2, readSeq: 0 });
    expect(c.lastMessage?.content).toBe('m3');
    expect([...effects.arrived]).toEqual([`u:${PEER}`]);
    // The same entries again (a replay after a reload): nothing changes.
    const again = apply(s, entries).s;
    expect(again.conversations[`u:${PEER}`]).toEqual(c);
  });

  it('lets a read entry from another device clear or recount the badge', () => {
    const t = thread([text(1, PEER), text(2, PEER), text(3, PEER)]);
    let { s } = apply(state({ threads: { [`u:${PEER}`]: t } }), [text(1, PEER), text(2, PEER), text(3, PEER)]);
    s = apply(s, [system(4, ME, { kind: 'read', peer: PEER, seq: 2 }, { to: PEER })]).s;
    expect(s.conversations[`u:${PEER}`]).toMatchObject({ readSeq: 2, unread: 1, lastSeq: 3 });
    s = apply(s, [system(5, ME, { kind: 'read', peer: PEER, seq: 3 }, { to: PEER })]).s;
    expect(s.conversations[`u:${PEER}`]).toMatchObject({ readSeq: 3, unread: 0 });
  });

  it('asks for the counts again when a read position passes what it can count', () => {
    const s0 = state({
      conversations: { [`u:${PEER}`]: { key: `u:${PEER}`, peer: PEER, name: 'p', lastSeq: 90, readSeq: 10, unread: 50 } },
    });
    const { s, effects } = apply(s0, [system(91, ME, { kind: 'read', peer: PEER, seq: 60 }, { to: PEER })]);
    expect(effects.conversations).toBe(true);
    expect(s.conversations[`u:${PEER}`]!.readSeq).toBe(60);
  });

  it('takes the sender’s own entry as the end of its pending send', () => {
    const out = {
      clientMsgId: 'c1',
      key: `u:${PEER}`,
      to: PEER,
      type: 'text' as const,
      content: 'hi',
      createdAt: 1,
      state: 'pending' as const,
      attempts: 1,
    };
    const { s } = apply(state({ outbox: [out] }), [text(1, ME, 'hi', { clientMsgId: 'c1' })]);
    expect(s.outbox).toEqual([]);
    expect(s.conversations[`u:${PEER}`]!.unread).toBe(0);
  });

  it('records receipts, and marks a recalled message everywhere it is shown', () => {
    const key = `u:${PEER}`;
    let { s } = apply(state({ threads: { [key]: thread([]) } }), [text(1, ME, 'hello'), text(2, ME, 'oops')]);
    s = apply(s, [system(3, PEER, { kind: 'receipt', by: PEER, upTo: 'm1' }, { to: ME })]).s;
    expect(s.peerRead[key]).toEqual({ upTo: 'm1', atSeq: 3 });
    expect(readUpToSeq(s.peerRead[key], s.threads[key])).toBe(1);
    s = apply(s, [system(4, ME, { kind: 'recalled', msgId: 'm2', by: ME }, { to: PEER })]).s;
    const recalledMsg = s.threads[key]!.messages.find((m) => m.msgId === 'm2')!;
    expect(recalledMsg.recalled).toBe(true);
    expect(recalledMsg.content).toBeUndefined();
    // The recall notice is the conversation's newest entry, as getconversations shows it.
    expect(s.conversations[key]!.lastMessage?.event?.kind).toBe('recalled');
    expect(s.threads[key]!.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('on a first sign-in replays only receipts of what getconversations already counted', () => {
    const s0 = state({ replayBelow: 5 });
    const { s } = apply(s0, [text(4, PEER), system(5, PEER, { kind: 'receipt', by: PEER, upTo: 'm3' }, { to: ME }), text(6, PEER)]);
    expect(s.peerRead[`u:${PEER}`]).toEqual({ upTo: 'm3', atSeq: 5 });
    expect(s.conversations[`u:${PEER}`]).toMatchObject({ lastSeq: 6, unread: 1 });
  });

  it('keeps what is known of a group the user was removed from, without asking for it', () => {
    const g = { groupId: 'g1', name: 'G', owner: PEER, members: [PEER, ME], createdAt: 1 };
    const removed = system(7, PEER, { kind: 'members_removed', groupId: 'g1', by: PEER, members: [ME] }, { groupId: 'g1' });
    const { s, effects } = apply(state({ groups: { g1: g } }), [removed]);
    expect(s.groups.g1!.members).toEqual([PEER]);
    expect(effects.groups.has('g1')).toBe(false);
    const added = system(8, PEER, { kind: 'members_added', groupId: 'g1', by: PEER, members: [ME] }, { groupId: 'g1' });
    expect(apply(s, [added]).effects.groups.has('g1')).toBe(true);
  });
});

describe('threads', () => {
  it('merges entries by seq, leaves out what is not shown, and never leaves a gap', () => {
    const t = thread([text(10, PEER), text(12, PEER)], true);
    const merged = mergeIntoThread(t, [
      text(11, ME),
      system(13, PEER, { kind: 'receipt', by: PEER, upTo: 'm11' }),
      text(14, PEER),
      text(12, PEER),
    ]);
    expect(merged.messages.map((m) => m.seq)).toEqual([10, 11, 12, 14]);
    // Older than a thread with more to load: it would sit after a gap, so it waits for its page.
    expect(mergeIntoThread(t, [text(3, PEER)]).messages.map((m) => m.seq)).toEqual([10, 12]);
    expect(mergeIntoThread({ ...t, more: false }, [text(3, PEER)]).messages.map((m) => m.seq)).toEqual([3, 10, 12]);
  });

  it('counts unread from a thread only when it reaches back to the read position', () => {
    const t = thread([text(10, PEER), text(11, ME), text(12, PEER)], true);
    expect(countUnread(t, 9, ME)).toBe(2);
    expect(countUnread(t, 10, ME)).toBe(1);
    expect(countUnread(t, 5, ME)).toBeNull();
    expect(countUnread({ ...t, more: false }, 5, ME)).toBe(2);
  });
});
