/**
 * What the store offers to CGIs through `ctx.store` (and what the store thread
 * answers). Every method is called by RPC from a CGI worker; arguments and
 * results must be structured-clonable. A failure is a CgiError carrying a
 * code of src/errors.ts, which reaches the client unchanged.
 */

export type MessageType = 'text' | 'voice' | 'image' | 'video' | 'system';

export interface SystemEvent {
  kind: 'group_created' | 'members_added' | 'members_removed';
  groupId: string;
  by: string;
  members: string[];
  /** On members_removed, when the owner left: the new owner (the longest-standing remaining member). */
  owner?: string;
}

/** One inbox entry as `sync` returns it (SPEC §4): absent fields are left out, not null. */
export interface SyncMessage {
  seq: number;
  msgId: string;
  from: string;
  to?: string;
  groupId?: string;
  type: MessageType;
  content?: string;
  mediaId?: string;
  durationMs?: number;
  event?: SystemEvent;
  clientMsgId?: string;
  createdAt: number;
}

export interface SendMessageArgs {
  from: string;
  to?: string;
  groupId?: string;
  type: Exclude<MessageType, 'system'>;
  content?: string;
  mediaId?: string;
  durationMs?: number;
  clientMsgId: string;
}

export interface SendMessageResult {
  msgId: string;
  seq: number;
  createdAt: number;
}

export interface SyncArgs {
  uid: string;
  syncKey: number;
  limit: number;
  /** 0 answers at once; >0 holds the call until an entry arrives or the time runs out. */
  timeoutMs: number;
}

export interface SyncResult {
  messages: SyncMessage[];
  syncKey: number;
  continueFlag: boolean;
}

export interface GroupInfo {
  groupId: string;
  name: string;
  owner: string;
  members: string[];
  createdAt: number;
}

export interface MediaRecord {
  mediaId: string;
  kind: 'image' | 'voice' | 'video';
  contentType: string;
  size: number;
}

export interface StoreApi {
  // accounts
  createUser(a: { username: string; passwordHash: string }): { uid: string };
  /** `disabled`: an administrator disabled the account (login answers 403 ACCOUNT_DISABLED once the password is right). */
  findUserByName(a: { username: string }): { uid: string; passwordHash: string; disabled: boolean } | null;
  createSession(a: { uid: string; tokenHash: string; deviceId?: string }): { sessionId: string };
  revokeSession(a: { sessionId: string }): { revoked: boolean };
  /**
   * Login throttling (README: per account and per client address, with
   * different budgets), shared by every worker: asked before the password is
   * checked, told the outcome after.
   */
  checkLogin(a: { username: string; ip: string }): { allowed: boolean; retryAfterSec: number };
  recordLogin(a: { username: string; ip: string; ok: boolean }): void;

  // messaging
  /** Counts against the sender's limits.sendPerMinute: past it, 429 RATE_LIMITED with details.retryAfterSec. */
  sendMessage(a: SendMessageArgs): SendMessageResult;
  sync(a: SyncArgs): SyncResult;

  // groups
  createGroup(a: { owner: string; name: string; members: string[] }): { groupId: string; members: string[] };
  addGroupMembers(a: { by: string; groupId: string; members: string[] }): { members: string[] };
  removeGroupMembers(a: { by: string; groupId: string; members: string[] }): { members: string[] };
  getGroup(a: { uid: string; groupId: string }): GroupInfo;

  // media
  putMedia(a: {
    uploader: string;
    tempPath: string;
    sha256: string;
    kind: MediaRecord['kind'];
    contentType: string;
    size: number;
  }): MediaRecord;
  /** The media's record and file path when `uid` may read it; NO_SUCH_MEDIA otherwise. */
  openMedia(a: { uid: string; mediaId: string }): MediaRecord & { path: string };
}

export type StoreOp = keyof StoreApi;

/** What a CGI sees: every store method, answered asynchronously. */
export type StoreClient = {
  [K in StoreOp]: (args: Parameters<StoreApi[K]>[0]) => Promise<ReturnType<StoreApi[K]>>;
};
