/**
 * What the store offers to CGIs through `ctx.store` (and what the store thread
 * answers). Every method is called by RPC from a CGI worker; arguments and
 * results must be structured-clonable. A failure is a CgiError carrying a
 * code of src/errors.ts, which reaches the client unchanged.
 */

export type MessageType = 'text' | 'voice' | 'image' | 'video' | 'system';

/** A group's membership changed (SPEC §4 Groups). */
export interface GroupEvent {
  kind: 'group_created' | 'members_added' | 'members_removed';
  groupId: string;
  by: string;
  members: string[];
  /** On members_removed, when the owner left: the new owner (the longest-standing remaining member). */
  owner?: string;
}

/** `by` asks the inbox's owner to become a contact (SPEC §6 Contacts). */
export interface ContactRequestEvent {
  kind: 'contact_request';
  by: string;
  greeting?: string;
}

/** `members` (both uids) became contacts; `by` made it happen (accepted, or asked back). */
export interface ContactAddedEvent {
  kind: 'contact_added';
  by: string;
  members: string[];
}

/** The owner's read position in a conversation moved to `seq` (their other devices follow it). */
export interface ReadEvent {
  kind: 'read';
  peer?: string;
  groupId?: string;
  seq: number;
}

/** `by` has read the owner's 1:1 messages up to msgId `upTo`. */
export interface ReceiptEvent {
  kind: 'receipt';
  by: string;
  upTo: string;
}

/** `by` recalled message `msgId`. */
export interface RecalledEvent {
  kind: 'recalled';
  msgId: string;
  by: string;
}

export type SystemEvent = GroupEvent | ContactRequestEvent | ContactAddedEvent | ReadEvent | ReceiptEvent | RecalledEvent;
export type SystemEventKind = SystemEvent['kind'];

/** One inbox entry as `sync` returns it (SPEC §4): absent fields are left out, not null. */
export interface SyncMessage {
  seq: number;
  msgId: string;
  from: string;
  to?: string;
  groupId?: string;
  type: MessageType;
  /** The sender took the message back: content, mediaId and durationMs are gone. */
  recalled?: true;
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

/** A user as others see them (SPEC §6 Profiles). */
export interface Profile {
  uid: string;
  username: string;
  displayName: string;
  avatarMediaId?: string;
}

export interface ContactList {
  /** The caller's contacts, each with when it entered the caller's list. */
  contacts: Array<Profile & { since: number }>;
  /** Requests to the caller, waiting. */
  incoming: Array<{ uid: string; greeting?: string; at: number }>;
  /** The caller's own requests, waiting. */
  outgoing: Array<{ uid: string; at: number }>;
  blocked: string[];
}

/** One conversation: exactly one of a 1:1 `peer` and a `groupId`. */
export interface ConversationRef {
  peer?: string;
  groupId?: string;
}

export interface Conversation extends ConversationRef {
  name: string;
  /** The newest entry other than `read` and `receipt`, shaped as in sync (text cut to 100 code points). */
  lastMessage: SyncMessage;
  lastSeq: number;
  readSeq: number;
  unread: number;
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

  // profiles
  setProfile(a: { uid: string; displayName?: string; avatarMediaId?: string | null }): Profile;
  /** Known uids' profiles in the order asked (each once); unknown ones are left out. */
  getProfiles(a: { uids: string[] }): { profiles: Profile[] };
  findUser(a: { username: string }): Profile;

  // contacts and blocking
  addContact(a: { uid: string; peer: string; greeting?: string }): { status: 'requested' | 'added' };
  acceptContact(a: { uid: string; peer: string }): { status: 'added' };
  declineContact(a: { uid: string; peer: string }): Record<string, never>;
  deleteContact(a: { uid: string; peer: string }): Record<string, never>;
  getContacts(a: { uid: string }): ContactList;
  blockUser(a: { uid: string; peer: string }): Record<string, never>;
  unblockUser(a: { uid: string; peer: string }): Record<string, never>;

  // conversations, history, recall, search
  getConversations(a: { uid: string; limit: number }): { conversations: Conversation[] };
  markRead(a: ConversationRef & { uid: string; seq: number }): { readSeq: number; unread: number };
  getHistory(a: ConversationRef & { uid: string; beforeSeq?: number; limit: number }): { messages: SyncMessage[]; more: boolean };
  recallMessage(a: { uid: string; msgId: string }): { recalled: true };
  searchMessages(a: ConversationRef & { uid: string; query: string; limit: number }): { messages: SyncMessage[] };

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
