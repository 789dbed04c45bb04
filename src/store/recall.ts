/**
 * Recall (SPEC §6): a sender takes a message back within the recall window.
 * The message keeps its row and every entry pointing at it, but loses its
 * payload (content, media, duration), leaves the search index, and stops
 * granting its media. Every inbox holding it gets a `recalled` system entry:
 * the recaller's at once, the peer's at once in a 1:1 chat, the group
 * members' through the fan-out queue (crash-safe like any fan-out). Recalling
 * again answers the same and writes nothing.
 */
import { CgiError } from '../errors.js';
import type { RecalledEvent } from './api.js';
import type { Tx } from './group-commit.js';
import type { Inbox } from './inbox.js';
import type { Media } from './media.js';
import { systemMessage, type MessageRows } from './message-rows.js';
import type { SearchIndexer } from './search-indexer.js';
import type { JobQueue } from './queue/jobs.js';
import { FANOUT, type RecallFanoutJob } from './queue/fanout.js';
import { msgIdOf, rowIdOf } from './ids.js';
import { invalid } from './validate.js';

export const DEFAULT_RECALL_WINDOW_MS = 120_000;

export class Recall {
  constructor(
    private readonly rows: MessageRows,
    private readonly inbox: Inbox,
    private readonly search: SearchIndexer,
    private readonly media: Media,
    private readonly jobs: JobQueue,
    private readonly windowMs: number,
  ) {}

  recall(tx: Tx, a: { uid: string; msgId: string }): { recalled: true } {
    if (typeof a.uid !== 'string') invalid('uid is required');
    const id = rowIdOf(a.msgId);
    const m = id === null ? undefined : this.rows.get(id);
    if (!m) throw new CgiError('NO_SUCH_MESSAGE', 'no such message');
    if (m.from !== a.uid || m.type === 'system') throw new CgiError('FORBIDDEN', 'only its sender may recall a message');
    if (m.recalledAt !== null) return { recalled: true };
    if (tx.now - m.createdAt > this.windowMs) {
      throw new CgiError('RECALL_WINDOW_PASSED', `a message can be recalled within ${this.windowMs} ms of sending`, {
        recallWindowMs: this.windowMs,
      });
    }
    this.rows.recall(m.id, tx.now);
    if (m.type === 'text') this.search.remove(m.id);
    if (m.mediaId !== null) this.media.revokeVia(m.mediaId, m.id);

    const event: RecalledEvent = { kind: 'recalled', msgId: msgIdOf(m.id), by: a.uid };
    const seq = this.inbox.reserve(a.uid);
    const sys = this.rows.insert(systemMessage({ from: a.uid, to: m.to, groupId: m.groupId, event, senderSeq: seq, createdAt: tx.now }));
    tx.countSent('system');
    this.inbox.put(tx, a.uid, seq, sys);
    if (m.groupId !== null) {
      const job: RecallFanoutJob = { k: 'recall', m: sys.id, r: m.id, x: a.uid };
      this.jobs.enqueue(tx, FANOUT, JSON.stringify(job));
    } else if (m.to !== null && m.to !== a.uid) {
      this.inbox.append(tx, m.to, sys);
    }
    return { recalled: true };
  }

  /** The fan-out of a group recall: one `recalled` entry in every other inbox holding the message. */
  deliver(tx: Tx, job: RecallFanoutJob): number {
    const sys = this.rows.get(job.m);
    if (!sys) throw new Error(`recall job: no system message ${job.m}`);
    let n = 0;
    for (const h of this.inbox.holders(job.r)) {
      if (h.uid === job.x) continue;
      this.inbox.append(tx, h.uid, sys);
      n++;
    }
    return n;
  }
}
