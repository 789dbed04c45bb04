/**
 * Helpers for the messenger suites (SPEC §6) over the real host: every call
 * is a plain HTTP request to the built-in CGIs, as a client would make it.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT, type ApiResponse, type RunningHost, type User } from '../helpers/index.js';
import type { SyncMessage } from '../messaging/client.js';

export const CGIS_DIR = join(ROOT, 'cgis');

/**
 * A host for suites that register a hundred users and more: register and
 * login (scrypt, twice per user) may queue for longer than the default 10 s
 * on a loaded machine, which would fail the setup, not the test.
 */
export const MANY_USERS_CONFIG = {
  watch: false,
  cgis: { register: { timeoutMs: 120_000 }, login: { timeoutMs: 120_000 } },
};

export interface Conversation {
  peer?: string;
  groupId?: string;
  name: string;
  lastMessage: SyncMessage & { recalled?: true };
  lastSeq: number;
  readSeq: number;
  unread: number;
}

export function call(h: RunningHost, u: User, name: string, body: unknown = {}): Promise<ApiResponse> {
  return h.post(name, body, { token: u.token });
}

/** Calls a CGI and expects a 200; resolves its answer. */
export async function ok<T = Record<string, unknown>>(h: RunningHost, u: User, name: string, body: unknown = {}): Promise<T> {
  const r = await call(h, u, name, body);
  expect(r.status, `${name}: ${r.text}`).toBe(200);
  return r.body as T;
}

/** a asks, b accepts: both are contacts. */
export async function befriend(h: RunningHost, a: User, b: User): Promise<void> {
  expect(await ok(h, a, 'addcontact', { uid: b.uid })).toEqual({ status: 'requested' });
  expect(await ok(h, b, 'acceptcontact', { uid: a.uid })).toEqual({ status: 'added' });
}

export async function conversations(h: RunningHost, u: User, limit?: number): Promise<Conversation[]> {
  return (await ok<{ conversations: Conversation[] }>(h, u, 'getconversations', limit === undefined ? {} : { limit })).conversations;
}

/** One conversation of `u` (by peer uid or group id), or undefined. */
export async function conversation(h: RunningHost, u: User, key: { peer?: string; groupId?: string }): Promise<Conversation | undefined> {
  return (await conversations(h, u, 500)).find((c) => (key.peer !== undefined ? c.peer === key.peer : c.groupId === key.groupId));
}

export async function markRead(h: RunningHost, u: User, key: { peer?: string; groupId?: string }, seq: number) {
  return ok<{ readSeq: number; unread: number }>(h, u, 'markread', { ...key, seq });
}

export async function history(h: RunningHost, u: User, body: Record<string, unknown>) {
  return ok<{ messages: SyncMessage[]; more: boolean }>(h, u, 'gethistory', body);
}

export async function search(h: RunningHost, u: User, body: Record<string, unknown>) {
  return (await ok<{ messages: SyncMessage[] }>(h, u, 'searchmsgs', body)).messages;
}

/** The conversation an entry belongs to in `owner`'s view (SPEC §6): the group, or the other party of a 1:1 entry. */
export function conversationKey(m: SyncMessage, owner: string): string | null {
  if (m.type === 'system' && (m.event as { kind: string }).kind === 'contact_request') return null;
  if (m.groupId !== undefined) return m.groupId;
  return m.from === owner ? m.to! : m.from;
}

export const COUNTED = new Set(['text', 'voice', 'image', 'video']);

export const isReadOrReceipt = (m: SyncMessage) => m.type === 'system' && ['read', 'receipt'].includes((m.event as { kind: string }).kind);
