/**
 * A signed-in session from start to end: restore the cached snapshot (the
 * conversation list shows at once), refresh it from the host, start the
 * sync loop and the outbox, keep the snapshot saved; on sign-out, stop
 * everything and forget this user's data in this browser.
 */
import { call, isRetryable, useToken } from '../api/client.ts';
import type { ApiOutput, InboxEntry } from '../api/types.ts';
import { forget, loadOutbox, loadSnapshot, loadThreads, saveSnapshot } from './cache.ts';
import { refreshContacts } from './contacts.ts';
import { forgetDirectory, needProfiles, refreshGroup } from './directory.ts';
import { applyEntries, groupKey, peerKey, type Effects } from './inbox.ts';
import { restoreOutbox, retryPendingNow, stopOutbox } from './outbox.ts';
import { currentRoute } from './route.ts';
import { storedSession, storeSession } from './session.ts';
import { emptyState, getState, setState, subscribe, type Conversation, type Session, type State } from './store.ts';
import { startSync, stopSync } from './sync.ts';
import { markRead } from './threads.ts';

/** How far back a first sign-in replays the inbox: enough to find recent read receipts. */
const REPLAY = 500;

let unsubscribeSaving: (() => void) | undefined;

export async function boot(): Promise<void> {
  const session = storedSession();
  if (session) await begin(session);
  else setState({ ...emptyState(), restored: true });
}

export async function begin(session: Session): Promise<void> {
  storeSession(session);
  useToken(session.token, () => void signOut(false));
  setState(emptyState(session));
  // The list is asked for at once while the cache is read, and shown by whichever comes first.
  const listed = call('getconversations', { limit: 500 }).then(
    (r) => {
      if (getState().session === session) applyConversations(r, false);
      return { r };
    },
    (e: unknown) => ({ e }),
  );
  const snapshot = await loadSnapshot(session.uid);
  if (getState().session !== session) return;
  // The fresh list, if it came first, stays on top of the cached one.
  setState((s) => ({ ...snapshot, conversations: { ...snapshot?.conversations, ...s.conversations }, restored: true, link: s.link }));
  let threadsRead = false;
  keepSaved(session.uid, () => threadsRead);
  void loadThreads(session.uid).then((threads) => {
    if (getState().session !== session) return;
    // A conversation opened meanwhile has newer pages than the cache.
    setState((s) => ({ threads: { ...threads, ...s.threads } }));
    threadsRead = true;
  });
  void loadOutbox(session.uid).then((outbox) => getState().session === session && restoreOutbox(outbox));
  void refreshContacts().catch(() => undefined);
  const first = await listed;
  if (getState().session !== session) return;
  // Applied again over the cached list (an entry newer in the cache wins); a first visit also takes its syncKey from it.
  if ('r' in first) applyConversations(first.r, !snapshot);
  else if (!snapshot) await firstConversations(session);
  if (getState().session !== session) return;
  startSync({
    apply: applyFromSync,
    reconnected() {
      retryPendingNow();
      void refreshConversations(false).catch(() => undefined);
    },
    reset(lastSeq) {
      setState({ syncKey: lastSeq, replayBelow: lastSeq, threads: {} });
      void refreshConversations(false).catch(() => undefined);
    },
  });
  document.addEventListener('visibilitychange', markOpenRead);
  window.addEventListener('hashchange', markOpenRead);
}

/** A first sign-in in this browser: the list from getconversations, then sync from shortly before its newest entry. */
async function firstConversations(session: Session): Promise<void> {
  for (let attempt = 0; getState().session === session; attempt++) {
    try {
      await refreshConversations(true);
      return;
    } catch (e) {
      if (!isRetryable(e)) return;
      setState({ link: 'down' });
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
    }
  }
}

export async function refreshConversations(first: boolean): Promise<void> {
  applyConversations(await call('getconversations', { limit: 500 }), first);
}

function applyConversations(r: ApiOutput<'getconversations'>, first: boolean): void {
  const newest = Math.max(0, ...r.conversations.map((c) => c.lastSeq));
  setState((s) => {
    const conversations = { ...s.conversations };
    for (const c of r.conversations) {
      const key = c.groupId ? groupKey(c.groupId) : peerKey(c.peer!);
      const cur = conversations[key];
      const next: Conversation = { key, ...(c.groupId ? { groupId: c.groupId } : { peer: c.peer }), name: c.name, ...pickState(cur, c) };
      conversations[key] = next;
    }
    const patch: Partial<State> = { conversations };
    if (first) Object.assign(patch, { syncKey: Math.max(0, newest - REPLAY), replayBelow: newest });
    return patch;
  });
  needProfiles(r.conversations.flatMap((c) => (c.peer ? [c.peer] : [])));
  // The list may count a message before sync brings it (then sync does not see it as new): the open one is read all the same.
  const open = currentRoute().chat;
  if (open && (getState().conversations[open]?.unread ?? 0) > 0) markOpenRead();
}

/** The host's view of a conversation, unless this client has already applied newer entries of it. */
function pickState(cur: Conversation | undefined, c: { lastMessage?: InboxEntry; lastSeq: number; readSeq: number; unread: number }) {
  if (!cur || c.lastSeq >= cur.lastSeq) {
    const readSeq = Math.max(c.readSeq, cur?.readSeq ?? 0);
    return { lastMessage: c.lastMessage, lastSeq: c.lastSeq, readSeq, unread: readSeq > c.readSeq && readSeq >= c.lastSeq ? 0 : c.unread };
  }
  return { lastMessage: cur.lastMessage, lastSeq: cur.lastSeq, readSeq: Math.max(c.readSeq, cur.readSeq), unread: cur.unread };
}

function applyFromSync(entries: InboxEntry[]): void {
  const s = getState();
  if (!s.session) return;
  const { patch, effects } = applyEntries(s, s.session.uid, entries);
  setState(patch);
  follow(effects);
}

function follow(effects: Effects): void {
  if (effects.contacts) void refreshContacts().catch(() => undefined);
  for (const g of effects.groups) void refreshGroup(g, true);
  needProfiles(effects.profiles);
  if (effects.conversations) void refreshConversations(false).catch(() => undefined);
  const open = currentRoute().chat;
  if (open && effects.arrived.has(open)) markOpenRead();
}

/** The open conversation is read while the page is visible. */
function markOpenRead(): void {
  const open = currentRoute().chat;
  if (open && document.visibilityState === 'visible' && getState().session) void markRead(open);
}

/** Saves the snapshot 400 ms after it changes (and when the page goes); the pages only once the saved ones were read back. */
function keepSaved(uid: string, threadsRead: () => boolean): void {
  unsubscribeSaving?.();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = getState();
  const changed = (a: State, b: State) =>
    a.syncKey !== b.syncKey ||
    a.conversations !== b.conversations ||
    a.threads !== b.threads ||
    a.peerRead !== b.peerRead ||
    a.profiles !== b.profiles ||
    a.groups !== b.groups ||
    a.contacts !== b.contacts;
  const save = () => {
    clearTimeout(timer);
    timer = undefined;
    const s = getState();
    if (s.session?.uid === uid) void saveSnapshot(uid, s, threadsRead());
  };
  const stop = subscribe(() => {
    const s = getState();
    if (s.session?.uid !== uid || !changed(last, s)) return;
    last = s;
    timer ??= setTimeout(save, 400);
  });
  const onHide = () => timer && save();
  window.addEventListener('pagehide', onHide);
  unsubscribeSaving = () => {
    stop();
    clearTimeout(timer);
    window.removeEventListener('pagehide', onHide);
  };
}

export async function signOut(tellHost = true): Promise<void> {
  const s = getState();
  stopSync();
  stopOutbox();
  unsubscribeSaving?.();
  document.removeEventListener('visibilitychange', markOpenRead);
  window.removeEventListener('hashchange', markOpenRead);
  if (tellHost && s.session) await call('logout', {}).catch(() => undefined);
  if (s.session) await forget(s.session.uid);
  storeSession(null);
  useToken(undefined);
  forgetDirectory();
  setState({ ...emptyState(), restored: true });
  if (location.hash) history.replaceState(null, '', location.pathname);
}
