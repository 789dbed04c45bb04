/**
 * A thin messaging client over the real host's HTTP API (SPEC §4), for the
 * end-to-end suites in test/messaging and test/groups.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { metric, waitFor, type ApiResponse, type RunningHost, type User } from '../helpers/index.js';

export interface SyncMessage {
  seq: number;
  msgId: string;
  from: string;
  to?: string;
  groupId?: string;
  type: string;
  recalled?: true;
  content?: string;
  mediaId?: string;
  durationMs?: number;
  /** Group events (SPEC §4) and the messenger's (§6): which fields are set depends on `kind`. */
  event?: {
    kind: string;
    groupId: string;
    by: string;
    members: string[];
    owner?: string;
    greeting?: string;
    peer?: string;
    seq?: number;
    upTo?: string;
    msgId?: string;
  };
  clientMsgId?: string;
  createdAt: number;
}

let msgCounter = 0;
export function clientMsgId(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${(msgCounter++).toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function send(h: RunningHost, u: User, body: Record<string, unknown>): Promise<ApiResponse> {
  return h.post('sendmsg', { type: 'text', clientMsgId: clientMsgId(), ...body }, { token: u.token });
}

/** Sends a text 1:1 and expects a 200. */
export async function sendText(h: RunningHost, from: User, to: User | string, content: string, cmid = clientMsgId()) {
  const r = await h.post(
    'sendmsg',
    { to: typeof to === 'string' ? to : to.uid, type: 'text', content, clientMsgId: cmid },
    { token: from.token },
  );
  expect(r.status, r.text).toBe(200);
  return r.body as { msgId: string; seq: number; createdAt: number };
}

/** Sends a text to a group and expects a 200. */
export async function sendGroupText(h: RunningHost, from: User, groupId: string, content: string, cmid = clientMsgId()) {
  const r = await h.post('sendmsg', { groupId, type: 'text', content, clientMsgId: cmid }, { token: from.token });
  expect(r.status, r.text).toBe(200);
  return r.body as { msgId: string; seq: number; createdAt: number };
}

export function sync(h: RunningHost, u: User, body: { syncKey: number; limit?: number; timeoutMs?: number }): Promise<ApiResponse> {
  return h.post('sync', body, { token: u.token });
}

/** The user's whole inbox after `from`, paging with limit 500. */
export async function inbox(h: RunningHost, u: User, from = 0): Promise<SyncMessage[]> {
  const all: SyncMessage[] = [];
  let key = from;
  for (;;) {
    const r = await sync(h, u, { syncKey: key, limit: 500 });
    expect(r.status, r.text).toBe(200);
    all.push(...(r.body.messages as SyncMessage[]));
    key = r.body.syncKey;
    if (!r.body.continueFlag) return all;
  }
}

/** Seqs are exactly from+1..from+n. */
export function expectDense(messages: SyncMessage[], from = 0): void {
  expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: messages.length }, (_, i) => from + i + 1));
}

/** Creates a group and expects a 200. */
export async function createGroup(h: RunningHost, owner: User, members: Array<User | string>, name = 'group') {
  const r = await h.post('creategroup', { name, members: members.map(uidOf) }, { token: owner.token });
  expect(r.status, r.text).toBe(200);
  return r.body as { groupId: string; members: string[] };
}

export function uidOf(u: User | string): string {
  return typeof u === 'string' ? u : u.uid;
}

/**
 * Waits until the host holds `n` long-polls. The gauge is read through a cache
 * up to 1 s old, so a reading proves a poll is held only when it differs from
 * the last reading before the poll began: tests alternate (0, start polls, n,
 * answer them, 0).
 */
export async function syncWaiters(h: RunningHost, n: number): Promise<void> {
  await waitFor(async () => (await metric(h, 'cgihost_sync_waiters')) === n, 5_000, { everyMs: 100, what: `${n} held syncs` });
}
