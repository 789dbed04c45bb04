/**
 * Server-made ids. uids, group ids and session ids are random, so that nobody
 * can enumerate the users of the server by counting; a message id is its row
 * number, which no API takes as input.
 */
import { randomBytes } from 'node:crypto';

export function newUid(): string {
  return 'u' + randomBytes(8).toString('hex');
}

export function newGroupId(): string {
  return 'g' + randomBytes(8).toString('hex');
}

export function newSessionId(): string {
  return 's' + randomBytes(8).toString('hex');
}

export function msgIdOf(rowId: number): string {
  return 'm' + rowId.toString(36);
}

const MSG_ID = /^m[1-9a-z][0-9a-z]{0,10}$/;

/** The row id of a msgId, or null when it is not one this server makes. */
export function rowIdOf(msgId: unknown): number | null {
  if (typeof msgId !== 'string' || !MSG_ID.test(msgId)) return null;
  const n = parseInt(msgId.slice(1), 36);
  return Number.isSafeInteger(n) ? n : null;
}

const MEDIA_ID = /^[0-9a-f]{64}$/;

/** A media id is the lowercase hex SHA-256 of the bytes, nothing else (it becomes a file name). */
export function isMediaId(v: unknown): v is string {
  return typeof v === 'string' && MEDIA_ID.test(v);
}
