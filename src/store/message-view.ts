/**
 * How an inbox entry is shown (SPEC §4 Sync): the one shape that sync,
 * gethistory, getconversations and searchmsgs all answer with. Queries select
 * ENTRY_COLUMNS (the entry's seq, then the message's columns, in this order) in
 * raw mode, and toSyncMessage turns a row into the SPEC's object.
 */
import type { MessageType, SyncMessage, SystemEvent } from './api.js';
import { msgIdOf } from './ids.js';

/** `i` is the inbox (or any table giving the entry's seq as `seq`), `m` the messages table. */
export const ENTRY_COLUMNS = `m.id, m.from_uid, m.to_uid, m.group_id, m.type, m.content, m.media_id,
  m.duration_ms, m.event, m.client_msg_id, m.created_at, m.recalled_at`;

/** A row of ENTRY_COLUMNS after the entry's seq, as an array (raw mode: about twice as fast as objects). */
export type EntryRow = [
  seq: number,
  id: number,
  from: string,
  to: string | null,
  groupId: string | null,
  type: MessageType,
  content: string | null,
  mediaId: string | null,
  durationMs: number | null,
  event: string | null,
  clientMsgId: string | null,
  createdAt: number,
  recalledAt: number | null,
];

/** Code points of a text in a conversation's lastMessage (SPEC §6). */
export const PREVIEW_CODE_POINTS = 100;

/** The entry as `uid` sees it; with `preview`, a text's content is cut to PREVIEW_CODE_POINTS. */
export function toSyncMessage(r: EntryRow, uid: string, preview = false): SyncMessage {
  const [seq, id, from, to, groupId, type, content, mediaId, durationMs, event, clientMsgId, createdAt, recalledAt] = r;
  // Keys in the order of SPEC §4; absent fields are left out, never null.
  const m = { seq, msgId: msgIdOf(id), from } as SyncMessage;
  if (to !== null) m.to = to;
  if (groupId !== null) m.groupId = groupId;
  m.type = type;
  if (recalledAt !== null) {
    // A recalled message shows none of its payload, wherever it is shown.
    m.recalled = true;
  } else {
    if (content !== null) m.content = preview ? cut(content, PREVIEW_CODE_POINTS) : content;
    if (mediaId !== null) m.mediaId = mediaId;
    if (durationMs !== null) m.durationMs = durationMs;
  }
  if (event !== null) m.event = JSON.parse(event) as SystemEvent;
  // The client's own id is shown only to the sender (on any of the sender's devices).
  if (clientMsgId !== null && from === uid) m.clientMsgId = clientMsgId;
  m.createdAt = createdAt;
  return m;
}

function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let n = 0;
  let i = 0;
  for (const ch of s) {
    if (n++ === max) return s.slice(0, i);
    i += ch.length;
  }
  return s;
}
