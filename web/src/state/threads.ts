/**
 * A conversation's history, a page at a time (gethistory), and its read
 * position (markread). Only the newest page is fetched when a conversation
 * opens; older pages when the user scrolls up to them.
 */
import { ApiError, call } from '../api/client.ts';
import type { InboxEntry } from '../api/types.ts';
import { applyRecalls, isShown, mergeIntoThread, newConversation, target } from './inbox.ts';
import { needProfiles } from './directory.ts';
import { getState, setState, type ConvKey, type PeerRead, type Thread } from './store.ts';

export const FIRST_PAGE = 50;
export const OLDER_PAGE = 100;

const emptyThread = (): Thread => ({ messages: [], more: true, loading: false, fresh: false });

function setThread(key: ConvKey, change: (t: Thread) => Thread): void {
  setState((s) => ({ threads: { ...s.threads, [key]: change(s.threads[key] ?? emptyThread()) } }));
}

/** Receipts found in history pages (SPEC §6: they are entries of the conversation too). */
function notePeerRead(key: ConvKey, entries: InboxEntry[]): void {
  let best: PeerRead | undefined = getState().peerRead[key];
  for (const e of entries) {
    if (e.type === 'system' && e.event?.kind === 'receipt' && (!best || best.atSeq < e.seq)) best = { upTo: e.event.upTo, atSeq: e.seq };
  }
  if (best && best !== getState().peerRead[key]) setState((s) => ({ peerRead: { ...s.peerRead, [key]: best } }));
}

const opening = new Set<ConvKey>();

/** Opens a conversation: its newest page, merged with what the cache or sync already holds. */
export async function openThread(key: ConvKey): Promise<void> {
  const s = getState();
  if (!s.conversations[key]) setState((st) => ({ conversations: { ...st.conversations, [key]: newConversation(key) } }));
  if (s.threads[key]?.fresh || opening.has(key)) return;
  opening.add(key);
  setThread(key, (x) => ({ ...x, loading: true, error: undefined }));
  try {
    const r = await call('gethistory', { ...target(key), limit: FIRST_PAGE });
    const page = r.messages.slice().reverse();
    notePeerRead(key, page);
    needProfiles(page.map((m) => m.from));
    setThread(key, (x) => {
      const newest = x.messages[x.messages.length - 1]?.seq ?? 0;
      // The page joins what is loaded (it overlaps it, or it is the whole history): one continuous history.
      // Otherwise entries may be missing in between, and the cached pages go.
      const joins = !r.more || (x.messages.length > 0 && page.length > 0 && page[0]!.seq <= newest);
      const merged = mergeIntoThread({ ...x, messages: joins ? x.messages : [], more: false }, page);
      return { ...merged, more: !r.more ? false : joins ? x.more : true, loading: false, fresh: true };
    });
  } catch (e) {
    setThread(key, (x) => ({ ...x, loading: false, error: e instanceof Error ? e.message : String(e) }));
  } finally {
    opening.delete(key);
  }
}

/** The page before the oldest loaded entry. */
export async function loadOlder(key: ConvKey): Promise<void> {
  const t = getState().threads[key];
  // Pages go back from the newest page fetched now, not from a cached one.
  if (!t || t.loading || !t.more || !t.fresh) return;
  const oldest = t.messages[0]?.seq;
  setThread(key, (x) => ({ ...x, loading: true, error: undefined }));
  try {
    const r = await call('gethistory', { ...target(key), ...(oldest ? { beforeSeq: oldest } : {}), limit: OLDER_PAGE });
    const page = r.messages.filter(isShown).reverse();
    notePeerRead(key, r.messages);
    needProfiles(page.map((m) => m.from));
    setThread(key, (x) => {
      const known = new Set(x.messages.map((m) => m.seq));
      return { ...x, messages: [...page.filter((m) => !known.has(m.seq)), ...x.messages], more: r.more, loading: false };
    });
  } catch (e) {
    setThread(key, (x) => ({ ...x, loading: false, error: e instanceof Error ? e.message : String(e) }));
  }
}

const marking = new Map<ConvKey, number>();

/** Moves the read position to the newest entry the user has seen; the badge clears at once. */
export async function markRead(key: ConvKey): Promise<void> {
  const s = getState();
  const c = s.conversations[key];
  const t = s.threads[key];
  const seq = Math.max(c?.lastSeq ?? 0, t?.messages[t.messages.length - 1]?.seq ?? 0);
  if (!c || seq <= c.readSeq || (marking.get(key) ?? 0) >= seq) return;
  marking.set(key, seq);
  setState((st) => ({ conversations: { ...st.conversations, [key]: { ...st.conversations[key]!, unread: 0 } } }));
  try {
    const r = await call('markread', { ...target(key), seq });
    setState((st) => {
      const cur = st.conversations[key];
      if (!cur) return {};
      // Something newer may have arrived while the call was out: only a larger read position wins.
      if (r.readSeq < cur.readSeq) return {};
      return {
        conversations: {
          ...st.conversations,
          [key]: { ...cur, readSeq: r.readSeq, unread: cur.lastSeq > r.readSeq ? cur.unread : r.unread },
        },
      };
    });
  } catch (e) {
    marking.delete(key);
    if (!(e instanceof ApiError)) return;
  }
}

/** The host accepted a recall: show it at once (sync brings the recall entry too). */
export function markRecalled(msgId: string): void {
  setState((s) => {
    const conversations = { ...s.conversations };
    const threads = { ...s.threads };
    applyRecalls(conversations, threads, new Set([msgId]));
    return { conversations, threads };
  });
}
