/**
 * Moments: the shapes, the kv layout and who may see what. Everything lives
 * in the group's ctx.kv:
 *
 *   ['post', postId]                     the post: author, text, images, createdAt
 *   ['tl', uid, createdAt, postId]       one line of uid's timeline: {author} (newest first = listed in reverse)
 *   ['like', postId, uid]                {at}
 *   ['comment', postId, commentId]       {commentId, uid, text, replyTo?, createdAt} (commentIds sort by time)
 *   ['idem', uid, clientPostId]          the postId a retried post already made
 *   ['stats', 'posts' | 'likes' | 'comments']   running totals (sums)
 *
 * A post is written with its author's timeline line and a fan-out job in one
 * atomic write; the consumer moments_fanout writes the lines of the author's
 * contacts (write diffusion). Who may see a post — and its likes and
 * comments — is decided when it is read: its author, and the users in the
 * author's contact list then (SPEC §6), unless the author blocks them.
 */
import { CgiError, z, type UnitContext } from 'cgihost';

export const GROUP_TOPIC = 'moments.fanout';
export const MAX_IMAGES = 9;
export const MAX_TEXT = 2_000;
export const MAX_COMMENT = 500;
/** Likes and comments shown with each post. */
export const SHOWN = 100;

export interface Post {
  postId: string;
  author: string;
  text?: string;
  mediaIds: string[];
  createdAt: number;
}

export interface Comment {
  commentId: string;
  uid: string;
  text: string;
  replyTo?: string;
  createdAt: number;
}

/** A fan-out job: write (or remove) a post's line in the timeline of each of the author's contacts. */
export const FanoutJob = z.object({ op: z.enum(['add', 'remove']), postId: z.string(), author: z.string(), createdAt: z.number() });
export type FanoutJob = z.infer<typeof FanoutJob>;

export const PostIdSchema = z.string().regex(/^p[0-9a-z]{10,40}$/, 'not a postId');
export const CommentIdSchema = z.string().regex(/^c[0-9a-z]{9}[0-9a-f]{8}$/, 'not a commentId');

export const CommentSchema = z.object({
  commentId: z.string(),
  uid: z.string(),
  text: z.string(),
  replyTo: z.string().optional(),
  createdAt: z.number(),
});

export const MomentSchema = z.object({
  postId: z.string(),
  author: z.string(),
  text: z.string().optional(),
  mediaIds: z.array(z.string()),
  createdAt: z.number(),
  likes: z.array(z.object({ uid: z.string(), at: z.number() })),
  likedByMe: z.boolean(),
  comments: z.array(CommentSchema),
});
export type Moment = z.infer<typeof MomentSchema>;

export function newPostId(createdAt: number): string {
  return 'p' + createdAt.toString(36) + randomHex(8);
}

/** Sorts by time: the creation time in fixed-width base 36, then 8 random hex digits. */
export function newCommentId(createdAt: number): string {
  return 'c' + createdAt.toString(36).padStart(9, '0') + randomHex(4);
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The contacts of one user, as ctx.store keeps them (SPEC §6): whom they list, whom they block. */
export interface Contacts {
  contacts: Set<string>;
  blocked: Set<string>;
}

interface ContactList {
  contacts: Array<{ uid: string }>;
  blocked: string[];
}

/** Reads each author's contact list once per request. */
export class Audience {
  private readonly lists = new Map<string, Promise<Contacts>>();

  constructor(private readonly ctx: UnitContext) {}

  of(uid: string): Promise<Contacts> {
    let p = this.lists.get(uid);
    if (!p) {
      // ctx.store.getContacts arrives with the messenger (SPEC §6, issue 15).
      const store = this.ctx.store as unknown as { getContacts(a: { uid: string }): Promise<ContactList> };
      p = store.getContacts({ uid }).then((l) => ({
        contacts: new Set(l.contacts.map((c) => c.uid)),
        blocked: new Set(l.blocked),
      }));
      this.lists.set(uid, p);
    }
    return p;
  }

  /** Whether `viewer` may see `author`'s posts, likes and comments. */
  async canSee(viewer: string, author: string): Promise<boolean> {
    if (viewer === author) return true;
    const a = await this.of(author);
    return a.contacts.has(viewer) && !a.blocked.has(viewer);
  }
}

/** The post if `viewer` may see it; NO_SUCH_MOMENT otherwise (as for a post that does not exist). */
export async function visiblePost(ctx: UnitContext, audience: Audience, viewer: string, postId: string): Promise<Post> {
  const entry = await ctx.kv.get<Post>(['post', postId]);
  if (!entry || !(await audience.canSee(viewer, entry.value.author))) throw new CgiError(404, 'NO_SUCH_MOMENT', 'no such moment');
  return entry.value;
}

/** A post with its likes and comments as `viewer` sees them. */
export async function momentOf(ctx: UnitContext, post: Post, viewer: string): Promise<Moment> {
  const [likes, comments] = await Promise.all([
    ctx.kv.list<{ at: number }>({ prefix: ['like', post.postId], limit: SHOWN }),
    ctx.kv.list<Comment>({ prefix: ['comment', post.postId], limit: SHOWN }),
  ]);
  const likeList = likes.entries.map((e) => ({ uid: e.key[2] as string, at: e.value.at }));
  return {
    postId: post.postId,
    author: post.author,
    ...(post.text !== undefined ? { text: post.text } : {}),
    mediaIds: post.mediaIds,
    createdAt: post.createdAt,
    likes: likeList,
    likedByMe: likeList.some((l) => l.uid === viewer),
    comments: comments.entries.map((e) => e.value),
  };
}
