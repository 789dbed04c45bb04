/**
 * Sending. Every message gets its clientMsgId when the user sends it and
 * keeps it through every retry, so the host writes it once however often it
 * is tried (SPEC §4). Messages go in the order they were written; one that
 * cannot reach the host stays pending (and holds back the ones after it)
 * until the network is back, and survives a reload (the outbox is in
 * IndexedDB, files included). One the host refuses is marked failed.
 */
import { ApiError, call, isRetryable, upload } from '../api/client.ts';
import type { InboxEntry, SendResult } from '../api/types.ts';
import { saveOutbox } from './cache.ts';
import { randomId } from './ids.ts';
import { mergeIntoThread } from './inbox.ts';
import { primeMedia } from './media.ts';
import { getState, setState, type ConvKey, type Outgoing, type OutgoingType } from './store.ts';
import { retrySyncNow } from './sync.ts';

let pumping = false;
let timer: ReturnType<typeof setTimeout> | undefined;

function targetOf(key: ConvKey): { to: string } | { groupId: string } {
  return key.startsWith('g:') ? { groupId: key.slice(2) } : { to: key.slice(2) };
}

function update(clientMsgId: string, change: Partial<Outgoing>): void {
  setState((s) => ({ outbox: s.outbox.map((o) => (o.clientMsgId === clientMsgId ? { ...o, ...change } : o)) }));
  persist();
}

function persist(): void {
  const s = getState();
  if (s.session) void saveOutbox(s.session.uid, s.outbox);
}

function enqueue(key: ConvKey, type: OutgoingType, fields: Partial<Outgoing>): void {
  const item: Outgoing = {
    clientMsgId: randomId(16),
    key,
    ...targetOf(key),
    type,
    ...fields,
    createdAt: Date.now(),
    state: 'sending',
    attempts: 0,
  };
  setState((s) => ({ outbox: [...s.outbox, item] }));
  persist();
  void pump();
}

export function sendText(key: ConvKey, content: string): void {
  enqueue(key, 'text', { content });
}

export function sendFile(key: ConvKey, file: Blob, type: 'image' | 'video'): void {
  enqueue(key, type, { file, fileType: file.type });
}

export function sendVoice(key: ConvKey, clip: Blob, durationMs: number): void {
  // Browsers record `audio/webm;codecs=opus`; the host files it as audio/webm.
  const fileType = clip.type.split(';')[0] || 'audio/webm';
  enqueue(key, 'voice', { file: clip, fileType, durationMs: Math.max(1, Math.min(60_000, Math.round(durationMs))) });
}

/** After a reload: what was in flight is pending again. */
export function restoreOutbox(items: Outgoing[]): void {
  setState((s) => {
    const now = new Set(s.outbox.map((o) => o.clientMsgId));
    const restored = items
      .filter((o) => !now.has(o.clientMsgId))
      .map((o) => (o.state === 'sending' ? { ...o, state: 'pending' as const, retryAt: 0 } : o));
    // Written before this page's own sends, so sent before them.
    return { outbox: [...restored, ...s.outbox] };
  });
  void pump();
}

/** The host is reachable again (sync answered): retry what waits, now. */
export function retryPendingNow(): void {
  if (!getState().outbox.some((o) => o.state === 'pending')) return;
  setState((s) => ({ outbox: s.outbox.map((o) => (o.state === 'pending' ? { ...o, retryAt: 0 } : o)) }));
  void pump();
}

export function retryFailed(clientMsgId: string): void {
  update(clientMsgId, { state: 'pending', error: undefined, retryAt: 0 });
  void pump();
}

export function discard(clientMsgId: string): void {
  setState((s) => ({ outbox: s.outbox.filter((o) => o.clientMsgId !== clientMsgId) }));
  persist();
}

export function stopOutbox(): void {
  clearTimeout(timer);
  timer = undefined;
}

const backoff = (attempts: number) => Math.min(15_000, 500 * 2 ** Math.min(attempts, 6)) * (0.75 + Math.random() * 0.5);

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    for (;;) {
      const item = getState().outbox.find((o) => o.state !== 'failed');
      if (!item || !getState().session) return;
      const wait = (item.retryAt ?? 0) - Date.now();
      if (wait > 0) {
        clearTimeout(timer);
        timer = setTimeout(() => void pump(), wait);
        return;
      }
      update(item.clientMsgId, { state: 'sending' });
      try {
        const result = await deliver(item);
        confirm(item, result.sent, result.mediaId);
        // The host is reachable: a sync loop backing off after failures need not wait any longer.
        retrySyncNow();
      } catch (e) {
        if (!getState().outbox.some((o) => o.clientMsgId === item.clientMsgId)) continue;
        if (isRetryable(e)) {
          const attempts = item.attempts + 1;
          const retryAfter = e instanceof ApiError && e.retryAfterSec ? e.retryAfterSec * 1000 : 0;
          update(item.clientMsgId, { state: 'pending', attempts, retryAt: Date.now() + Math.max(retryAfter, backoff(attempts)) });
        } else {
          update(item.clientMsgId, { state: 'failed', error: failure(e) });
        }
      }
    }
  } finally {
    pumping = false;
  }
}

async function deliver(item: Outgoing): Promise<{ sent: SendResult; mediaId?: string }> {
  const base = { ...(item.groupId ? { groupId: item.groupId } : { to: item.to! }), clientMsgId: item.clientMsgId };
  if (item.type === 'text') return { sent: await call('sendmsg', { ...base, type: 'text', content: item.content! }) };
  let mediaId = item.mediaId;
  if (!mediaId) {
    mediaId = (await upload(item.file!, item.fileType!)).mediaId;
    update(item.clientMsgId, { mediaId });
  }
  if (item.type === 'voice')
    return { sent: await call('sendmsg', { ...base, type: 'voice', mediaId, durationMs: item.durationMs! }), mediaId };
  return { sent: await call('sendmediamsg', { ...base, type: item.type, mediaId }), mediaId };
}

/** The host has it: it becomes an ordinary message of the thread (sync brings the same entry again, merged by seq). */
function confirm(item: Outgoing, r: SendResult, mediaId?: string): void {
  const me = getState().session!.uid;
  if (mediaId && item.file) primeMedia(mediaId, item.file);
  const entry = {
    seq: r.seq,
    msgId: r.msgId,
    from: me,
    ...(item.groupId ? { groupId: item.groupId } : { to: item.to }),
    type: item.type,
    ...(item.content !== undefined ? { content: item.content } : {}),
    ...(mediaId ? { mediaId } : {}),
    ...(item.durationMs ? { durationMs: item.durationMs } : {}),
    clientMsgId: item.clientMsgId,
    createdAt: r.createdAt,
  } as InboxEntry;
  setState((s) => {
    const t = s.threads[item.key];
    return {
      outbox: s.outbox.filter((o) => o.clientMsgId !== item.clientMsgId),
      threads: t ? { ...s.threads, [item.key]: mergeIntoThread(t, [entry]) } : s.threads,
    };
  });
  persist();
}

const FAILURES: Record<string, string> = {
  BLOCKED: 'This person is not accepting your messages.',
  NOT_A_CONTACT: 'You can only message your contacts on this server.',
  NOT_GROUP_MEMBER: 'You are no longer a member of this group.',
  PAYLOAD_TOO_LARGE: 'The file is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'This kind of file cannot be sent.',
  IDEMPOTENCY_CONFLICT: 'A different message was already sent under this id.',
};

function failure(e: unknown): string {
  if (e instanceof ApiError) return FAILURES[e.code] ?? e.message;
  return e instanceof Error ? e.message : String(e);
}
