/**
 * Schedule firings as leases in the store: a firing is run by whoever takes
 * its lease first, so hosts that share one store (SPEC §9) run each firing of
 * a schedule once. With SQLite there is one host and it always gets the
 * lease; the row also keeps how the last run ended, for the admin API.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Tx } from './group-commit.js';
import { invalid, requireString } from './validate.js';

export interface ScheduleRun {
  name: string;
  fireAt: number;
  holder: string;
  startedAt: number;
  finishedAt: number | null;
  ok: boolean | null;
  error: string | null;
}

interface Row {
  name: string;
  fire_at: number;
  holder: string;
  started_at: number;
  finished_at: number | null;
  ok: number | null;
  error: string | null;
}

export class ScheduleLeases {
  private readonly takeLease: Statement<[string, number, string, number]>;
  private readonly finishRun: Statement<[number, number, string | null, string, number]>;
  private readonly list: Statement<[], Row>;

  constructor(db: Db) {
    this.takeLease = db.prepare(
      `INSERT INTO schedule_runs (name, fire_at, holder, started_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET fire_at = excluded.fire_at, holder = excluded.holder, started_at = excluded.started_at,
         finished_at = NULL, ok = NULL, error = NULL
       WHERE schedule_runs.fire_at < excluded.fire_at`,
    );
    this.finishRun = db.prepare(`UPDATE schedule_runs SET finished_at = ?, ok = ?, error = ? WHERE name = ? AND fire_at = ?`);
    this.list = db.prepare('SELECT * FROM schedule_runs ORDER BY name');
  }

  /** Takes the lease of one firing; false when it is taken already (another host runs it). */
  take(tx: Tx, name: string, fireAt: number, holder: string): boolean {
    requireString(name, 'name', 256);
    requireString(holder, 'holder', 256);
    if (!Number.isSafeInteger(fireAt)) invalid('fireAt must be a time in ms');
    return this.takeLease.run(name, fireAt, holder, tx.now).changes === 1;
  }

  finish(tx: Tx, name: string, fireAt: number, ok: boolean, error?: string): void {
    this.finishRun.run(tx.now, ok ? 1 : 0, ok ? null : (error ?? 'failed').slice(0, 1000), name, fireAt);
  }

  all(): ScheduleRun[] {
    return this.list.all().map((r) => ({
      name: r.name,
      fireAt: r.fire_at,
      holder: r.holder,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      ok: r.ok === null ? null : r.ok === 1,
      error: r.error,
    }));
  }
}
