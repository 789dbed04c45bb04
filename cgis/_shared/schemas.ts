/** Input and output shapes shared by the built-in messaging CGIs (SPEC §4, §6). */
import { z } from 'cgihost';

/** Length in Unicode code points, not UTF-16 units. */
export const codePoints = (s: string) => [...s].length;

export const IdSchema = z.string().min(1).max(64);
export const ClientMsgIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'clientMsgId is 1–64 characters of [A-Za-z0-9_-]');
export const MediaIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'mediaId is a lowercase hex SHA-256');
export const SeqSchema = z.number().int().min(0);

/** `to` or `groupId`, exactly one of them. */
export const TargetFields = {
  to: IdSchema.optional(),
  groupId: IdSchema.optional(),
};

export function exactlyOneTarget(v: { to?: string; groupId?: string }, ctx: z.RefinementCtx): void {
  if ((v.to === undefined) === (v.groupId === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of "to" and "groupId"', path: v.to === undefined ? ['to'] : ['groupId'] });
  }
}

/** A conversation: `peer` (1:1) or `groupId`. */
export const ConversationFields = {
  peer: IdSchema.optional(),
  groupId: IdSchema.optional(),
};

export function exactlyOneConversation(v: { peer?: string; groupId?: string }, ctx: z.RefinementCtx): void {
  if ((v.peer === undefined) === (v.groupId === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'give exactly one of "peer" and "groupId"',
      path: v.peer === undefined ? ['peer'] : ['groupId'],
    });
  }
}

export function atMostOneConversation(v: { peer?: string; groupId?: string }, ctx: z.RefinementCtx): void {
  if (v.peer !== undefined && v.groupId !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'give at most one of "peer" and "groupId"', path: ['groupId'] });
  }
}

export const SendResultSchema = z.object({ msgId: z.string(), seq: z.number().int().positive(), createdAt: z.number().int() });

/** The `event` of a `system` entry, by kind (SPEC §4 Groups, §6). */
export const SystemEventSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.enum(['group_created', 'members_added', 'members_removed']),
    groupId: z.string(),
    by: z.string(),
    members: z.array(z.string()),
    /** On members_removed when the owner left: the new owner. */
    owner: z.string().optional(),
  }),
  z.object({ kind: z.literal('contact_request'), by: z.string(), greeting: z.string().optional() }),
  /** `members`: both uids. */
  z.object({ kind: z.literal('contact_added'), by: z.string(), members: z.array(z.string()) }),
  /** The owner's read position moved (one of peer and groupId). */
  z.object({ kind: z.literal('read'), peer: z.string().optional(), groupId: z.string().optional(), seq: z.number().int().min(0) }),
  /** `by` read the owner's 1:1 messages up to msgId `upTo`. */
  z.object({ kind: z.literal('receipt'), by: z.string(), upTo: z.string() }),
  z.object({ kind: z.literal('recalled'), msgId: z.string(), by: z.string() }),
]);

export const SyncMessageSchema = z.object({
  seq: z.number().int().positive(),
  msgId: z.string(),
  from: z.string(),
  to: z.string().optional(),
  groupId: z.string().optional(),
  type: z.enum(['text', 'voice', 'image', 'video', 'system']),
  /** The sender recalled it: no content, mediaId or durationMs. */
  recalled: z.literal(true).optional(),
  content: z.string().optional(),
  mediaId: z.string().optional(),
  durationMs: z.number().int().optional(),
  event: SystemEventSchema.optional(),
  clientMsgId: z.string().optional(),
  createdAt: z.number().int(),
});

export const MembersSchema = z.array(IdSchema).max(100_000);

/** A user as others see them (SPEC §6 Profiles). */
export const ProfileSchema = z.object({
  uid: z.string(),
  username: z.string(),
  displayName: z.string(),
  avatarMediaId: z.string().optional(),
});

export const DisplayNameSchema = z
  .string()
  .refine((n) => codePoints(n.trim()) >= 1 && codePoints(n.trim()) <= 64, 'displayName is 1–64 characters')
  .refine((n) => n.isWellFormed(), 'displayName is not well-formed Unicode');

/** The other user of a contact operation. */
export const PeerInputSchema = z.object({ uid: IdSchema });

export const ConversationSchema = z.object({
  peer: z.string().optional(),
  groupId: z.string().optional(),
  /** The peer's displayName or the group's name. */
  name: z.string(),
  /** The newest entry other than read and receipt (a text's content cut to 100 code points). */
  lastMessage: SyncMessageSchema,
  lastSeq: z.number().int().positive(),
  readSeq: SeqSchema,
  unread: z.number().int().min(0),
});
