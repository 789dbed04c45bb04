/** Monitoring: metrics, the admin API, the dashboard, alerts, logs. */
export { monitorHooks } from './hooks.js';
export { Monitor } from './monitor.js';
