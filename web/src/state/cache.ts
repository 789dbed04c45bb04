/**
 * What survives a reload, in IndexedDB (idb-keyval): the conversation list
 * (with profiles, groups, receipts, contacts and the syncKey they are current
 * at), the newest pages of recent conversations, and the outbox with the
 * files of unsent messages.
 *
 * The list and the pages are two values written in one transaction (setMany),
 * so the syncKey never runs ahead of what is saved; they are read separately,
 * the small list first, so the list shows before the pages are decoded.
 * Pages restored are refreshed when their conversation opens (threads.ts),
 * which also mends any gap sync left while they were being read.
 */
import { createStore, del, get, set, setMany, type UseStore } from 'idb-keyval';
import type { ConvKey, Outgoing, State, Thread } from './store.ts';

const VERSION = 2;
const KEEP_THREADS = 30;
const KEEP_MESSAGES = 80;

type Snapshot = Pick<State, 'syncKey' | 'replayBelow' | 'conversations' | 'peerRead' | 'profiles' | 'groups' | 'contacts'> & { v: number };

let db: UseStore | undefined;
const store = () => (db ??= createStore('cgihost-chat', 'kv'));

export async function loadSnapshot(uid: string): Promise<Partial<State> | null> {
  try {
    const s = await get<Snapshot>(`snapshot:${uid}`, store());
    if (!s || s.v !== VERSION) return null;
    const { v: _v, ...rest } = s;
    return rest;
  } catch {
    return null;
  }
}

export async function loadThreads(uid: string): Promise<Record<ConvKey, Thread>> {
  try {
    const saved = (await get<Record<ConvKey, Thread>>(`threads:${uid}`, store())) ?? {};
    const threads: Record<ConvKey, Thread> = {};
    for (const [k, t] of Object.entries(saved)) threads[k] = { ...t, loading: false, fresh: false, error: undefined };
    return threads;
  } catch {
    return {};
  }
}

/** Saves the list and, once the saved pages have been read back (`withThreads`), the pages too. */
export async function saveSnapshot(uid: string, s: State, withThreads: boolean): Promise<void> {
  const snapshot: Snapshot = {
    v: VERSION,
    syncKey: s.syncKey,
    replayBelow: s.replayBelow,
    conversations: s.conversations,
    peerRead: s.peerRead,
    profiles: s.profiles,
    groups: s.groups,
    contacts: s.contacts,
  };
  const entries: Array<[string, unknown]> = [[`snapshot:${uid}`, snapshot]];
  if (withThreads) entries.push([`threads:${uid}`, recentThreads(s)]);
  await setMany(entries, store()).catch(() => undefined);
}

function recentThreads(s: State): Record<ConvKey, Thread> {
  const recent = Object.values(s.conversations)
    .sort((a, b) => b.lastSeq - a.lastSeq)
    .slice(0, KEEP_THREADS);
  const threads: Record<ConvKey, Thread> = {};
  for (const c of recent) {
    const t = s.threads[c.key];
    if (!t || !t.messages.length) continue;
    const cut = t.messages.length > KEEP_MESSAGES;
    threads[c.key] = { messages: t.messages.slice(-KEEP_MESSAGES), more: t.more || cut, loading: false, fresh: false };
  }
  return threads;
}

export async function loadOutbox(uid: string): Promise<Outgoing[]> {
  try {
    return (await get<Outgoing[]>(`outbox:${uid}`, store())) ?? [];
  } catch {
    return [];
  }
}

export async function saveOutbox(uid: string, outbox: Outgoing[]): Promise<void> {
  await set(`outbox:${uid}`, outbox, store()).catch(() => undefined);
}

export async function forget(uid: string): Promise<void> {
  await Promise.all([`snapshot:${uid}`, `threads:${uid}`, `outbox:${uid}`].map((k) => del(k, store()))).catch(() => undefined);
}
