/** Monitoring: the request tally, metrics, live windows and series, alerts, recent errors (http/admin serves them). */
export { Monitor, type MonitorParts } from './monitor.js';
export type { RequestObserver } from './observer.js';
