/**
 * What the store offers the host's administrators (the admin API and
 * `cgihost users|backup`), beside what it offers CGIs (api.ts). Plain
 * operations with structured-clonable arguments and results, so another
 * store engine (PostgreSQL) answers the same calls; only `backup` is
 * SQLite's own (a PostgreSQL install backs up with pg_dump or its own tools).
 */

import type { PlatformAdminApi } from './platform.js';

export interface UserSummary {
  uid: string;
  username: string;
  createdAt: number;
  /** When an administrator disabled the account; absent while it is enabled. */
  disabledAt?: number;
  /** Sessions (signed-in devices) the account holds now. */
  sessions: number;
}

export interface ListUsersArgs {
  /** Only usernames starting with this. */
  prefix?: string;
  /** The page after this username (the `next` of the page before). */
  after?: string;
  /** 1–1000, default 100. */
  limit?: number;
}

export interface UsersAdminApi {
  /** Users in username order, a page at a time. */
  listUsers(a: ListUsersArgs): { users: UserSummary[]; next?: string };
  /** One user, or NO_SUCH_USER. */
  getUser(a: { username: string }): UserSummary;
  /**
   * Disables (every session ends at once, the same way a logout ends one;
   * logins get 403 ACCOUNT_DISABLED) or enables an account. Repeating it is
   * harmless.
   */
  setUserDisabled(a: { username: string; disabled: boolean }): UserSummary;
  /** Replaces the password hash (scrypt, made by the caller) and ends every session of the account. */
  resetPassword(a: { username: string; passwordHash: string }): { revokedSessions: number };
}

export type UsersAdminOp = keyof UsersAdminApi;

/** Everything the control port answers an administrator: the queue and schedules (platform.ts) and the users. */
export type StoreAdminApi = PlatformAdminApi & UsersAdminApi;
export type StoreAdminOp = keyof StoreAdminApi;

export interface BackupProgress {
  /** Database pages copied so far, of `totalPages` (pages are the database's page size, 4 KiB). */
  donePages: number;
  totalPages: number;
}

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
  ms: number;
  /** With a media folder to copy into: files copied this time and their size (files already there are skipped). */
  media?: { copied: number; bytes: number; dir: string };
}

/** What an engine answers, and what the host's handle (StoreHost) offers: every operation asynchronous. */
export type StoreAdmin = {
  [K in UsersAdminOp]: (args: Parameters<UsersAdminApi[K]>[0]) => Promise<ReturnType<UsersAdminApi[K]>>;
};
