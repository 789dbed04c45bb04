/**
 * The client's one state: a plain object replaced (never mutated) on every
 * change, and a hook that re-renders a component when the slice it selects
 * changes. Changes made in one task are announced once.
 */
import { useEffect, useReducer, useRef } from 'preact/hooks';
import type { Contacts, GroupInfo, InboxEntry, Profile } from '../api/types.ts';

export interface Session {
  uid: string;
  token: string;
  username: string;
}

/** A 1:1 conversation is `u:<peer uid>`, a group's `g:<groupId>`. */
export type ConvKey = string;

export interface Conversation {
  key: ConvKey;
  peer?: string;
  groupId?: string;
  /** As getconversations named it (the peer's display name or the group's name); the directory may know better. */
  name: string;
  lastMessage?: InboxEntry;
  lastSeq: number;
  readSeq: number;
  unread: number;
}

/** The loaded part of a conversation's history: its newest pages, oldest first. */
export interface Thread {
  messages: InboxEntry[];
  /** Older entries remain on the server. */
  more: boolean;
  loading: boolean;
  /** The newest page was fetched in this session. */
  fresh: boolean;
  error?: string;
}

export type OutgoingType = 'text' | 'voice' | 'image' | 'video';

/** A message the user sent that the host has not acknowledged yet. */
export interface Outgoing {
  clientMsgId: string;
  key: ConvKey;
  to?: string;
  groupId?: string;
  type: OutgoingType;
  content?: string;
  durationMs?: number;
  /** Set once the file is uploaded: a retry sends the same mediaId without uploading again. */
  mediaId?: string;
  file?: Blob;
  fileType?: string;
  createdAt: number;
  /** sending: a try is in flight; pending: the network failed, it will be tried again; failed: the host refused it. */
  state: 'sending' | 'pending' | 'failed';
  error?: string;
  attempts: number;
  retryAt?: number;
}

/** The newest of my 1:1 messages the peer has read: its msgId, and the seq of the receipt in my inbox. */
export interface PeerRead {
  upTo: string;
  atSeq: number;
}

export type Link = 'up' | 'connecting' | 'down';

export interface State {
  session: Session | null;
  /** The cached snapshot was restored (or there was none). */
  restored: boolean;
  syncKey: number;
  /** Entries up to this seq were already counted by getconversations (a first sign-in replays a few for receipts). */
  replayBelow: number;
  link: Link;
  conversations: Record<ConvKey, Conversation>;
  threads: Record<ConvKey, Thread>;
  outbox: Outgoing[];
  peerRead: Record<ConvKey, PeerRead>;
  profiles: Record<string, Profile>;
  groups: Record<string, GroupInfo>;
  contacts: Contacts | null;
  notice: { text: string; kind: 'error' | 'info'; id: number } | null;
}

export const emptyState = (session: Session | null = null): State => ({
  session,
  restored: false,
  syncKey: 0,
  replayBelow: 0,
  link: 'connecting',
  conversations: {},
  threads: {},
  outbox: [],
  peerRead: {},
  profiles: {},
  groups: {},
  contacts: null,
  notice: null,
});

let state: State = emptyState();
const listeners = new Set<() => void>();
let announced = true;

export function getState(): State {
  return state;
}

export function setState(change: Partial<State> | ((s: State) => Partial<State>)): void {
  const patch = typeof change === 'function' ? change(state) : change;
  state = { ...state, ...patch };
  if (announced) {
    announced = false;
    queueMicrotask(() => {
      announced = true;
      for (const l of [...listeners]) l();
    });
  }
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The selected slice of the state; the component re-renders when it changes (by ===, or by `equal`). */
export function useAppState<T>(select: (s: State) => T, equal: (a: T, b: T) => boolean = Object.is): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selected = select(state);
  const last = useRef({ select, selected, equal });
  last.current = { select, selected, equal };
  useEffect(() => {
    const check = () => {
      const { select: sel, selected: prev, equal: eq } = last.current;
      if (!eq(prev, sel(state))) rerender(0);
    };
    // A change between this render and this effect would otherwise go unseen.
    check();
    return subscribe(check);
  }, []);
  return selected;
}

export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a) as Array<keyof T>;
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.is(a[k], b[k]));
}

let noticeId = 0;
export function notify(text: string, kind: 'error' | 'info' = 'error'): void {
  const id = ++noticeId;
  setState({ notice: { text, kind, id } });
  setTimeout(
    () => {
      if (getState().notice?.id === id) setState({ notice: null });
    },
    kind === 'error' ? 6000 : 3000,
  );
}
