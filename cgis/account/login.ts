import { randomBytes, createHash } from 'node:crypto';
import { CgiError, defineCgi, z } from 'cgihost';
import { burnPasswordCheck, scryptCost, verifyPassword } from '../_shared/password.ts';

export default defineCgi({
  apiVersion: 1,
  auth: 'none',
  input: z.object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
    deviceId: z.string().min(1).max(128).optional(),
  }),
  output: z.object({ uid: z.string(), token: z.string() }),
  async handler(input, ctx) {
    // Throttled per account and per client address, with different budgets (README: login throttling).
    const who = { username: input.username, ip: ctx.ip };
    const gate = await ctx.store.checkLogin(who);
    if (!gate.allowed) {
      throw new CgiError(429, 'RATE_LIMITED', 'too many failed logins; try again later', { retryAfterSec: gate.retryAfterSec });
    }
    const user = await ctx.store.findUserByName({ username: input.username });
    const ok = user
      ? await verifyPassword(input.password, user.passwordHash)
      : (await burnPasswordCheck(input.password, scryptCost(ctx.env)), false);
    if (!user || !ok) {
      await ctx.store.recordLogin({ ...who, ok: false });
      throw new CgiError(401, 'BAD_CREDENTIALS', 'wrong username or password');
    }
    // Said only to whoever knows the password, so it tells a guesser nothing about the account.
    if (user.disabled) throw new CgiError(403, 'ACCOUNT_DISABLED', 'this account is disabled');
    await ctx.store.recordLogin({ ...who, ok: true });
    // 256 random bits; only its SHA-256 is stored.
    const token = randomBytes(32).toString('base64url');
    const tokenHash = createHash('sha256').update(token).digest('hex');
    await ctx.store.createSession({ uid: user.uid, tokenHash, deviceId: input.deviceId });
    return { uid: user.uid, token };
  },
});
