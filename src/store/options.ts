/**
 * Options of the store thread. They travel to the thread as `workerData`, so
 * everything here is structured-clonable; the host's config schema validates
 * them before they get here.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';

export interface WebhookConfig {
  url: string;
  /** Event names ('message.sent', 'group.created', 'alert', ...) or '*' for all. */
  events: string[];
  /** When set, every delivery carries `x-cgihost-signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret?: string;
}

export interface QueueOptions {
  /** Tries of a job before it is dead-lettered. */
  maxAttempts?: number;
  /** Delay before the first retry; doubles with each try (with jitter) up to backoffMaxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A fan-out transaction stops taking new jobs past this many inbox entries... */
  fanoutBatchEntries?: number;
  /** ...or past this much time, so that request writes are not held up behind it. */
  fanoutBatchMs?: number;
  /** Per-delivery timeout of a webhook request (connect, headers and body). */
  webhookTimeoutMs?: number;
  /** Webhook deliveries in flight at once, in all and per endpoint. */
  webhookConcurrency?: number;
  webhookConcurrencyPerEndpoint?: number;
  /** Done jobs are kept this long (for inspection), then deleted. */
  doneRetentionMs?: number;
}

export interface LoginThrottleOptions {
  /** Wrong passwords for one account within windowMs after which its logins are refused (default 5). */
  accountFailures?: number;
  /** Wrong passwords from one client address within windowMs after which that address's new accounts are refused (default 100). */
  addressFailures?: number;
  windowMs?: number;
}

/** SPEC §6 rules of the messenger (config `messaging`). */
export interface MessagingOptions {
  /** 1:1 messages only between contacts (NOT_A_CONTACT otherwise). Default false. */
  contactsOnly?: boolean;
  /** How long after sending a message may be recalled. Default 120000. */
  recallWindowMs?: number;
  /**
   * False only to measure what keeping conversation rows costs (the sendmsg
   * bench's A/B, through CGIHOST_BENCH_NO_CONVERSATIONS): getconversations
   * and markread then see nothing. Default true.
   */
  keepConversations?: boolean;
}

export interface StoreOptions {
  dataDir: string;
  /** Where media files live (default `<dataDir>/media`); several hosts on PostgreSQL share one folder (SPEC §9). */
  mediaDir?: string;
  /** 'sqlite' (default): the file in dataDir; 'postgres': the database at `url`, shared by every host (SPEC §9). */
  engine?: 'sqlite' | 'postgres';
  /** The PostgreSQL URL (engine 'postgres'). */
  url?: string;
  /** This host's name among those sharing a PostgreSQL store (who holds a job's lease): host:pid by default. */
  hostId?: string;
  /** 'FULL' (default): a commit survives power loss. 'NORMAL': it survives a process crash only. */
  synchronous?: 'FULL' | 'NORMAL';
  groupsMaxMembers?: number;
  messaging?: MessagingOptions;
  webhooks?: WebhookConfig[];
  queue?: QueueOptions;
  login?: LoginThrottleOptions;
  /** Messages one user may send per minute (a bucket of this size refilled over a minute); 0 or absent: no limit. */
  sendPerMinute?: number;
  /** Where the store's records go (default: JSON lines on stdout); in the store thread, to the main thread's logger. */
  log?: Logger;
  /** Over a SharedArrayBuffer: bumped after each committed session revocation (see TokenReader). */
  revocations?: Int32Array;
  /** Over a SharedArrayBuffer: bumped after each committed recall (the message rows CGI workers cache for sync: InboxReads). */
  recalls?: Int32Array;
  /** Over a SharedArrayBuffer: bumped after every commit, before its writes are answered (a CGI worker's read snapshot: sqlite-reads.ts). */
  commits?: Int32Array;
}

/** The media folder of a store: `mediaDir`, or `<dataDir>/media`. */
export function mediaDirOf(opts: { dataDir: string; mediaDir?: string }): string {
  return opts.mediaDir ?? join(opts.dataDir, 'media');
}

export type ResolvedQueueOptions = Required<QueueOptions>;

export const QUEUE_DEFAULTS: ResolvedQueueOptions = {
  maxAttempts: 8,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  fanoutBatchEntries: 20_000,
  fanoutBatchMs: 25,
  webhookTimeoutMs: 5_000,
  webhookConcurrency: 16,
  webhookConcurrencyPerEndpoint: 4,
  doneRetentionMs: 60 * 60_000,
};

export const DEFAULT_GROUPS_MAX_MEMBERS = 500;

export function resolveQueueOptions(q: QueueOptions | undefined): ResolvedQueueOptions {
  const out = { ...QUEUE_DEFAULTS };
  for (const [k, v] of Object.entries(q ?? {})) {
    if (v !== undefined) (out as Record<string, number>)[k] = v;
  }
  return out;
}
