/**
 * SPEC §6's CGIs (profiles, contacts, conversations, history, search,
 * recall), written from the SPEC while they are being built on another
 * branch. Once they are on main, types.ts takes them from their
 * definitions like the others and this file goes.
 */
import type { z } from 'zod';

type SyncInput = z.input<(typeof import('../../../cgis/msgsync/sync.ts').default)['input']>;

export type PendingInboxEvent =
  | { kind: 'group_created' | 'members_added' | 'members_removed'; groupId: string; by: string; members: string[]; owner?: string }
  | { kind: 'contact_request'; by: string; greeting?: string }
  | { kind: 'contact_added'; by: string; members: string[] }
  | { kind: 'read'; peer?: string; groupId?: string; seq: number }
  | { kind: 'receipt'; by: string; upTo: string }
  | { kind: 'recalled'; msgId: string; by: string };

export interface PendingInboxEntry {
  seq: number;
  msgId: string;
  from: string;
  to?: string;
  groupId?: string;
  type: 'text' | 'voice' | 'image' | 'video' | 'system';
  content?: string;
  mediaId?: string;
  durationMs?: number;
  event?: PendingInboxEvent;
  clientMsgId?: string;
  createdAt: number;
  recalled?: boolean;
}

interface PendingProfile {
  uid: string;
  username: string;
  displayName: string;
  avatarMediaId?: string;
}

type Target = { peer: string; groupId?: never } | { groupId: string; peer?: never };

export interface PendingApi {
  sync: { input: SyncInput; output: { messages: PendingInboxEntry[]; syncKey: number; continueFlag: boolean } };
  setprofile: { input: { displayName?: string; avatarMediaId?: string }; output: PendingProfile };
  getprofiles: { input: { uids: string[] }; output: { profiles: PendingProfile[] } };
  finduser: { input: { username: string }; output: PendingProfile };
  addcontact: { input: { uid: string; greeting?: string }; output: Record<string, unknown> };
  acceptcontact: { input: { uid: string }; output: Record<string, unknown> };
  declinecontact: { input: { uid: string }; output: Record<string, unknown> };
  delcontact: { input: { uid: string }; output: Record<string, unknown> };
  blockuser: { input: { uid: string }; output: Record<string, unknown> };
  unblockuser: { input: { uid: string }; output: Record<string, unknown> };
  getcontacts: {
    input: Record<string, never>;
    output: {
      contacts: Array<PendingProfile & { since: number }>;
      incoming: Array<{ uid: string; greeting?: string; at: number }>;
      outgoing: Array<{ uid: string; at: number }>;
      blocked: string[];
    };
  };
  getconversations: {
    input: { limit?: number };
    output: {
      conversations: Array<{
        peer?: string;
        groupId?: string;
        name: string;
        lastMessage?: PendingInboxEntry;
        lastSeq: number;
        readSeq: number;
        unread: number;
      }>;
    };
  };
  markread: { input: Target & { seq: number }; output: { readSeq: number; unread: number } };
  gethistory: { input: Target & { beforeSeq?: number; limit?: number }; output: { messages: PendingInboxEntry[]; more: boolean } };
  searchmsgs: {
    input: { query: string; peer?: string; groupId?: string; limit?: number };
    output: { messages: PendingInboxEntry[] };
  };
  recallmsg: { input: { msgId: string }; output: { recalled: true } };
}
