/**
 * Users administration (SPEC §10), behind the admin check of adminHandler:
 *   GET  /_host/api/users?prefix=&after=&limit=    a page of users in username order
 *   GET  /_host/api/users/<username>               one user
 *   POST /_host/api/users/<username>/disable       sessions end at once; logins get 403 ACCOUNT_DISABLED
 *   POST /_host/api/users/<username>/enable
 *   POST /_host/api/users/<username>/reset-password  {"password"?}: every session ends; without a password one is made and returned
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CgiError } from '../../errors.js';
import type { StoreAdmin } from '../../store/admin-api.js';
// The built-in account CGIs' scrypt format: a reset password must verify at their login.
import { hashPassword, scryptCost } from '../../../cgis/_shared/password.ts';
import { sendJson } from '../respond.js';
import type { AdminRoute } from './router.js';

const ResetSchema = z.strictObject({
  password: z
    .string()
    .refine((p) => [...p].length >= 8 && [...p].length <= 128, 'password is 8–128 characters')
    .optional(),
});

/** 16 characters of an alphabet without look-alikes (no 0/O, 1/l/I): about 90 bits. */
function newPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,7}$/.test(v)) throw new CgiError('INVALID_INPUT', `${name} must be a whole number`);
  return Number(v);
}

/** `accountEnv`: ctx.env of the account group, whose SCRYPT_N sets the cost of a new hash as at registration. */
export function usersRoutes(store: StoreAdmin, accountEnv: Readonly<Record<string, string>> = {}): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/_host/api/users',
      async handle({ res, query }) {
        const page = await store.listUsers({
          prefix: query.get('prefix') ?? undefined,
          after: query.get('after') ?? undefined,
          limit: intParam(query, 'limit'),
        });
        sendJson(res, 200, JSON.stringify(page));
      },
    },
    {
      method: 'GET',
      path: '/_host/api/users/',
      async handle({ res, tail }) {
        if (tail.includes('/')) throw new CgiError('NO_SUCH_CGI', 'expected /_host/api/users/<username>');
        sendJson(res, 200, JSON.stringify(await store.getUser({ username: decodeURIComponent(tail) })));
      },
    },
    {
      method: 'POST',
      path: '/_host/api/users/',
      async handle({ res, tail, body }) {
        const [raw = '', action, ...more] = tail.split('/');
        const username = decodeURIComponent(raw);
        if (more.length) throw new CgiError('NO_SUCH_CGI', `unknown users action "${tail.slice(0, 100)}"`);
        if (action === 'disable' || action === 'enable') {
          sendJson(res, 200, JSON.stringify(await store.setUserDisabled({ username, disabled: action === 'disable' })));
          return;
        }
        if (action === 'reset-password') {
          const parsed = ResetSchema.safeParse(await body());
          if (!parsed.success) throw new CgiError('INVALID_INPUT', 'expected {"password"?: 8–128 characters}', parsed.error.issues);
          // The user must exist before a (slow) hash is spent on it.
          await store.getUser({ username });
          const password = parsed.data.password ?? newPassword();
          const r = await store.resetPassword({ username, passwordHash: await hashPassword(password, scryptCost(accountEnv)) });
          sendJson(res, 200, JSON.stringify(parsed.data.password === undefined ? { ...r, password } : r));
          return;
        }
        throw new CgiError('NO_SUCH_CGI', `unknown users action "${action ?? ''}"; expected disable, enable or reset-password`);
      },
    },
  ];
}
