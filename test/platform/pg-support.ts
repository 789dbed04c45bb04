/**
 * Helpers of the PostgreSQL platform tests: a fresh database per test, a
 * "host" (PgDb + PgPlatform with short leases and polls) on it, everything
 * closed and dropped after each test; kv writes and consumer stand-ins.
 */
import { afterEach } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { resolveQueueOptions, type QueueOptions } from '../../src/store/options.js';
import type { AtomicWrite, KvMutation, PortOwner, QueueMessage } from '../../src/store/platform-api.js';
import type { Subscriber, ToConsumer } from '../../src/store/queue/consumers.js';
import { PgDb } from '../../src/store/pg/db.js';
import { PgPlatform } from '../../src/store/pg/platform.js';
import { encodeKey } from '../../src/worker/kv-keys.js';
import { freshDatabase } from '../helpers/postgres.js';

export const OWNER: PortOwner = { group: 'g1', unit: 'g1/kv' };
export const FAST: QueueOptions = { backoffBaseMs: 30, backoffMaxMs: 60, maxAttempts: 3, webhookTimeoutMs: 1_000 };

export const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function database(): Promise<string> {
  const db = await freshDatabase('cgihost_platform');
  cleanups.push(() => db.drop());
  return db.url;
}

export interface PgHost {
  db: PgDb;
  platform: PgPlatform;
}

export async function host(
  url: string,
  hostId: string,
  o: { leaseMs?: number; pollMs?: number; queue?: QueueOptions } = {},
): Promise<PgHost> {
  const db = await PgDb.open({ url, max: 4 });
  const platform = await PgPlatform.open(
    db,
    resolveQueueOptions(o.queue ?? FAST),
    { hostId, leaseMs: o.leaseMs, pollMs: o.pollMs ?? 50 },
    silentLogger,
  );
  // Registered first, run last: the database closes after the platform stopped.
  cleanups.push(() => db.close());
  cleanups.push(() => platform.stop());
  return { db, platform };
}

export const k = (...parts: Array<string | number>) => encodeKey(parts);
export const set = (key: Uint8Array, value: unknown, expireInMs?: number): KvMutation => ({
  t: 'set',
  key,
  value: JSON.stringify(value),
  ...(expireInMs === undefined ? {} : { expireInMs }),
});
export const write = (mutations: KvMutation[], checks: AtomicWrite['checks'] = [], enqueues: QueueMessage[] = []): AtomicWrite => ({
  checks,
  mutations,
  enqueues,
});

/** A consumer worker as the store thread sees one: records the jobs it is sent. */
export function subscriber(topic: string, concurrency: number, got: Job[], unit = 'c'): Subscriber {
  return {
    topic,
    concurrency,
    maxAttempts: 3,
    timeoutMs: 60_000,
    unit,
    running: 0,
    draining: false,
    send: (m) => {
      if (m.t === 'job') got.push(m);
    },
  };
}

export type Job = Extract<ToConsumer, { t: 'job' }>;
