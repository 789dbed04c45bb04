/**
 * The PostgreSQL engine with every part: PgStore (accounts, inboxes, sending,
 * sync, conversations, media records, fan-out) and the parts built beside it
 * (contacts and profiles, groups, search, ctx.kv with consumers and schedules,
 * webhooks), all on one database and one host id.
 */
import { resolveQueueOptions, DEFAULT_GROUPS_MAX_MEMBERS } from '../options.js';
import { PgContacts } from './contacts.js';
import { PgGroups } from './groups.js';
import { PgPlatform } from './platform.js';
import { PgSearch } from './search.js';
import { PgStore, type PgPartContext, type PgStoreOptions } from './store.js';
import { PgWebhooks } from './webhooks.js';
import type { WebhookSink } from './parts.js';

export function openPgStore(opts: PgStoreOptions): Promise<PgStore> {
  const queue = resolveQueueOptions(opts.queue);
  // The webhooks part is read when emitting, so parts made before it still reach it.
  const sink = (ctx: PgPartContext): WebhookSink => ({
    wants: (event) => ctx.webhooks().wants(event),
    emit: (tx, event, payload) => ctx.webhooks().emit(tx, event, payload),
  });
  return PgStore.open(opts, {
    webhooks: async (ctx) => {
      const w = await PgWebhooks.open(ctx.db, opts.webhooks ?? [], queue, { hostId: ctx.hostId }, ctx.log);
      return Object.assign(w, { close: () => w.stop() });
    },
    contacts: (ctx) => new PgContacts(ctx.db, ctx.inbox, ctx.messages),
    groups: (ctx) =>
      new PgGroups(ctx.db, ctx.inbox, ctx.messages, ctx.fanout, sink(ctx), opts.groupsMaxMembers ?? DEFAULT_GROUPS_MAX_MEMBERS),
    search: (ctx) => new PgSearch(ctx.db),
    platform: async (ctx) => {
      const p = await PgPlatform.open(ctx.db, queue, { hostId: ctx.hostId }, ctx.log);
      return Object.assign(p, { close: () => p.stop() });
    },
  });
}
