/**
 * Signing up, in and out. The session (uid, token, username) lives in
 * localStorage, so a reload or a new tab of the same browser stays signed in.
 */
import { call } from '../api/client.ts';
import { randomId } from './ids.ts';
import type { Session } from './store.ts';

const SESSION = 'cgihost.session';
const DEVICE = 'cgihost.device';

export function storedSession(): Session | null {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && typeof s.uid === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function storeSession(s: Session | null): void {
  if (s) localStorage.setItem(SESSION, JSON.stringify(s));
  else localStorage.removeItem(SESSION);
}

/** One id per browser, so the host can tell this browser's session from the user's other devices. */
function deviceId(): string {
  let id = localStorage.getItem(DEVICE);
  if (!id) {
    id = `web-${randomId(12)}`;
    localStorage.setItem(DEVICE, id);
  }
  return id;
}

const SIGN_IN_TIMEOUT_MS = 60_000;

export async function signIn(username: string, password: string): Promise<Session> {
  // scrypt on a busy host may take a while; nothing retries a sign-in, so it gets longer than the usual deadline.
  const r = await call('login', { username, password, deviceId: deviceId() }, { timeoutMs: SIGN_IN_TIMEOUT_MS });
  return { uid: r.uid, token: r.token, username };
}

export async function signUp(username: string, password: string): Promise<Session> {
  await call('register', { username, password }, { timeoutMs: SIGN_IN_TIMEOUT_MS });
  return signIn(username, password);
}
