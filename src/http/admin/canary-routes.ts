/** Admin API for gray releases: POST /_host/api/cgis/<name>/{canary,promote,rollback}, GET /_host/api/cgis/<name>. */
import { z } from 'zod';
import { CgiError } from '../../errors.js';
import type { Registry } from '../../host/registry.js';
import { sendJson } from '../respond.js';
import { slotSummary, type AdminRoute } from './router.js';

const PercentSchema = z.object({ percent: z.number().min(0).max(100) });

export function canaryRoutes(registry: Registry): AdminRoute[] {
  const slotOf = (name: string) => {
    const slot = registry.get(name);
    if (!slot) throw new CgiError('NO_SUCH_CGI', `no CGI is named "${name}"`);
    return slot;
  };
  return [
    {
      method: 'GET',
      path: '/_host/api/cgi/',
      handle: ({ res, tail }) => sendJson(res, 200, JSON.stringify(slotSummary(slotOf(decodeURIComponent(tail))))),
    },
    {
      method: 'POST',
      path: '/_host/api/cgis/',
      async handle({ res, tail, body }) {
        const [rawName = '', action] = tail.split('/');
        const slot = slotOf(decodeURIComponent(rawName));
        if (action === 'canary') {
          const parsed = PercentSchema.safeParse(await body());
          if (!parsed.success) throw new CgiError('INVALID_INPUT', 'expected {"percent": 0..100}', parsed.error.issues);
          if (!slot.canary) throw new CgiError('CGI_UNAVAILABLE', `${slot.name} has no loaded canary (${slot.name}.canary.ts)`);
          slot.setCanaryPercent(parsed.data.percent);
        } else if (action === 'rollback') {
          slot.setCanaryPercent(0);
        } else if (action === 'promote') {
          await registry.promote(slot.name);
        } else {
          throw new CgiError('NO_SUCH_CGI', `unknown action "${action}"; expected canary, promote or rollback`);
        }
        sendJson(res, 200, JSON.stringify(slotSummary(slot)));
      },
    },
  ];
}
