/** Input and output shapes shared by the built-in messaging CGIs (SPEC §4). */
import { z } from 'cgihost';

/** Length in Unicode code points, not UTF-16 units. */
export const codePoints = (s: string) => [...s].length;

export const IdSchema = z.string().min(1).max(64);
export const ClientMsgIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'clientMsgId is 1–64 characters of [A-Za-z0-9_-]');
export const MediaIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'mediaId is a lowercase hex SHA-256');

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

export const SendResultSchema = z.object({ msgId: z.string(), seq: z.number().int().positive(), createdAt: z.number().int() });

export const SyncMessageSchema = z.object({
  seq: z.number().int().positive(),
  msgId: z.string(),
  from: z.string(),
  to: z.string().optional(),
  groupId: z.string().optional(),
  type: z.enum(['text', 'voice', 'image', 'video', 'system']),
  content: z.string().optional(),
  mediaId: z.string().optional(),
  durationMs: z.number().int().optional(),
  event: z
    .object({
      kind: z.enum(['group_created', 'members_added', 'members_removed']),
      groupId: z.string(),
      by: z.string(),
      members: z.array(z.string()),
      /** On members_removed when the owner left: the new owner. */
      owner: z.string().optional(),
    })
    .optional(),
  clientMsgId: z.string().optional(),
  createdAt: z.number().int(),
});

export const MembersSchema = z.array(IdSchema).max(100_000);
