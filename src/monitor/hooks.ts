/** Wires monitoring into the host: admin routes, the request observer, worker restarts, alerts. */
import type { HostHooks, HostParts } from '../host/host.js';
import { canaryRoutes } from './canary-routes.js';
import { Monitor } from './monitor.js';
import { monitorRoutes } from './monitor-routes.js';
import { platformRoutes } from './platform-routes.js';

export function monitorHooks(parts: HostParts): HostHooks {
  const monitor = new Monitor(parts);
  return {
    adminRoutes: [...canaryRoutes(parts.registry), ...monitorRoutes(monitor), ...platformRoutes(monitor)],
    observer: monitor.observer,
    onWorkerExit: (cgi, _version, reason) => monitor.workerExited(cgi, reason),
    onAlert: (name, fields) => monitor.alerts.raise(name, fields),
    onWorkerTally: (group, _unit, m) => monitor.biz.apply(group, m),
    onStop: () => monitor.stop(),
  };
}
