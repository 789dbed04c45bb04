/**
 * What survives a reload, in IndexedDB (idb-keyval): a snapshot of the
 * conversation list, the newest pages of recent conversations and the
 * syncKey they were current at, written as one value so the syncKey never
 * runs ahead of the state it describes; and the outbox, with the files of
 * unsent messages, written at every change.
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { ConvKey, Outgoing, State, Thread } from './store.ts';

const SNAPSHOT_VERSION = 1;
const KEEP_THREADS = 30;
const KEEP_MESSAGES = 80;

type Snapshot = Pick<State, 'syncKey' | 'replayBelow' | 'conversations' | 'threads' | 'peerRead' | 'profiles' | 'groups' | 'contacts'> & {
  v: number;
};

let db: UseStore | undefined;
const store = () => (db ??= createStore('cgihost-chat', 'kv'));

export async function loadSnapshot(uid: string): Promise<Partial<State> | null> {
  try {
    const s = await get<Snapshot>(`snapshot:${uid}`, store());
    if (!s || s.v !== SNAPSHOT_VERSION) return null;
    const { v: _v, ...rest } = s;
    // Threads restored from the cache are refreshed when opened.
    const threads: Record<ConvKey, Thread> = {};
    for (const [k, t] of Object.entries(rest.threads)) threads[k] = { ...t, loading: false, fresh: false, error: undefined };
    return { ...rest, threads };
  } catch {
    return null;
  }
}

export async function saveSnapshot(uid: string, s: State): Promise<void> {
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
  const snapshot: Snapshot = {
    v: SNAPSHOT_VERSION,
    syncKey: s.syncKey,
    replayBelow: s.replayBelow,
    conversations: s.conversations,
    threads,
    peerRead: s.peerRead,
    profiles: s.profiles,
    groups: s.groups,
    contacts: s.contacts,
  };
  await set(`snapshot:${uid}`, snapshot, store()).catch(() => undefined);
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
  await Promise.all([del(`snapshot:${uid}`, store()), del(`outbox:${uid}`, store())]).catch(() => undefined);
}
