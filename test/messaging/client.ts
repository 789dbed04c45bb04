/**
 * A thin messaging client over the real host's HTTP API (SPEC §4), for the
 * end-to-end suites in test/messaging and test/groups.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { ApiResponse, RunningHost } from '../helpers/host.js';

export interface User {
  username: string;
  password: string;
  uid: string;
  token: string;
}

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

let counter = 0;
/** A username no other test of the run uses (3–32 chars of [a-z0-9_]). */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}_${process.pid.toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`.slice(0, 32);
}

export const PASSWORD = 'correct horse battery';

export function register(h: RunningHost, username: string, password = PASSWORD): Promise<ApiResponse> {
  return h.post('register', { username, password });
}

export function login(h: RunningHost, username: string, password = PASSWORD, deviceId?: string): Promise<ApiResponse> {
  return h.post('login', deviceId === undefined ? { username, password } : { username, password, deviceId });
}

/** Registers and logs in a fresh user. */
export async function newUser(h: RunningHost, prefix = 'u'): Promise<User> {
  const username = uniqueName(prefix);
  const r = await register(h, username);
  expect(r.status, r.text).toBe(200);
  const l = await login(h, username);
  expect(l.status, l.text).toBe(200);
  return { username, password: PASSWORD, uid: r.body.uid, token: l.body.token };
}

/** `n` fresh users, registered and logged in `batch` at a time (scrypt makes each ~50 ms). */
export async function newUsers(h: RunningHost, n: number, prefix = 'u', batch = 16): Promise<User[]> {
  const out: User[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => newUser(h, prefix)))));
  }
  return out;
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

/** An error answer with exactly this status and code, in the SPEC's envelope. */
export function expectError(r: ApiResponse, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.error?.code }, r.text).toEqual({ status, code });
  expect(typeof r.body.error.message).toBe('string');
  expect(r.body.error.requestId).toBe(r.headers.get('x-request-id'));
}

/** One value of a Prometheus text series (no labels, or an exact label set such as `{topic="webhook"}`). */
export async function metric(h: RunningHost, name: string, labels = ''): Promise<number | undefined> {
  const r = await h.get('/metrics');
  expect(r.status, r.text).toBe(200);
  for (const line of r.text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === name + labels) return Number(line.slice(sp + 1));
  }
  return undefined;
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
