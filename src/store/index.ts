/** The store room: SQLite, one writer thread, group commit, inboxes, accounts, groups, media, the job queue (queue/); engine.ts its engine boundary. */
export { Store, type CallContext } from './store.js';
export { StoreHost, type StoreHostOptions } from './host.js';
export { TokenReader, type TokenIdentity } from './token-reader.js';
export type { StoreOptions, WebhookConfig, QueueOptions, LoginThrottleOptions } from './options.js';
export * from './api.js';
export type * from './protocol.js';
