/** Wires monitoring into the host: admin routes, request metrics, alerts. */
import type { HostHooks, HostParts } from '../host/host.js';
import { canaryRoutes } from './canary-routes.js';

export function monitorHooks(parts: HostParts): HostHooks {
  return {
    adminRoutes: canaryRoutes(parts.registry),
    onAlert: (name, fields) => parts.log.error(`alert: ${name}`, { alert: name, ...fields }),
  };
}
