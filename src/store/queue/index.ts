/** The store's job queue: durable jobs in the store's database, the fan-out consumer, webhooks (run by the store thread). */
export { JobQueue, type JobRow, type QueueStats } from './jobs.js';
export { FanoutConsumer, FANOUT, type FanoutJob, type MessageFanoutJob, type RecallFanoutJob, type FanoutTarget } from './fanout.js';
export { WebhookDispatcher, WEBHOOK, signBody } from './webhooks.js';
