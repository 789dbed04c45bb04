/**
 * Signing in to the dashboard from a plain browser: `GET /_host/` without
 * credentials (a browser asking for HTML) gets a sign-in page; its form posts
 * the admin token to `/_host/login`, which sets the session cookie of
 * auth.ts and sends the browser back to the dashboard. `/_host/logout`
 * clears it. API clients keep getting the JSON 401 and use the Bearer header.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readText } from '../body.js';
import { sendError } from '../respond.js';
import { CgiError, isErrorCode } from '../../errors.js';
import { SESSION_COOKIE, SESSION_SECONDS, SignInThrottle, sameSecret, sessionValue } from './auth.js';

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** A browser navigating to the page (as opposed to an API client or a script). */
export function wantsPage(req: IncomingMessage, path: string): boolean {
  return req.method === 'GET' && (path === '/_host' || path === '/_host/') && (req.headers.accept ?? '').includes('text/html');
}

export function sendSignInPage(res: ServerResponse, status: number, requestId: string, problem?: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'x-request-id': requestId, 'www-authenticate': 'Bearer' });
  res.end(signInHtml(problem));
}

/** POST /_host/login and /_host/logout; false for any other path. */
export async function signInRoute(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  requestId: string,
  adminToken: string | undefined,
  throttle: SignInThrottle,
): Promise<boolean> {
  if (path !== '/_host/login' && path !== '/_host/logout') return false;
  if (req.method !== 'POST') {
    sendError(res, 'METHOD_NOT_ALLOWED', `${path} takes POST`, requestId, { headers: { allow: 'POST' } });
    return true;
  }
  const secure = (req.socket as { encrypted?: boolean }).encrypted ? '; Secure' : '';
  if (path === '/_host/logout') {
    res.writeHead(303, {
      location: '/_host/',
      'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`,
      'x-request-id': requestId,
    });
    res.end();
    return true;
  }
  const addr = req.socket.remoteAddress ?? '';
  const wait = throttle.retryAfter(addr);
  if (wait > 0) {
    sendError(res, 'RATE_LIMITED', 'too many wrong admin tokens: try again later', requestId, { headers: { 'retry-after': String(wait) } });
    return true;
  }
  const form = isForm(req);
  let given: string;
  try {
    given = await tokenOf(req, form);
  } catch (e) {
    if (!(e instanceof CgiError && isErrorCode(e.code))) throw e;
    sendError(res, e.code, e.message, requestId);
    return true;
  }
  if (!adminToken || !sameSecret(given, adminToken)) {
    throttle.failed(addr);
    const message = adminToken
      ? 'That is not this host’s admin token.'
      : 'This host has no admin token: the dashboard is open to local clients.';
    if (form) sendSignInPage(res, 401, requestId, message);
    else sendError(res, 'UNAUTHENTICATED', adminToken ? 'wrong admin token' : 'no admin token is configured', requestId);
    return true;
  }
  res.writeHead(303, {
    location: '/_host/',
    'set-cookie': `${SESSION_COOKIE}=${sessionValue(adminToken)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}${secure}`,
    'x-request-id': requestId,
  });
  res.end();
  return true;
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** The token from the sign-in form, or from a JSON body `{"token": …}`. */
async function tokenOf(req: IncomingMessage, form: boolean): Promise<string> {
  const text = await readText(req, 8 * 1024);
  if (form) return new URLSearchParams(text).get('token')?.trim() ?? '';
  try {
    const body = JSON.parse(text) as { token?: unknown };
    return typeof body?.token === 'string' ? body.token.trim() : '';
  } catch {
    throw new CgiError('INVALID_JSON', 'the request body is not valid JSON');
  }
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function signInHtml(problem?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · cgihost</title>
<style>
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#0d1117;color:#e6edf3;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
form{background:#161b22;border:1px solid #30363d;border-radius:10px;padding:24px;width:min(360px,calc(100vw - 32px));display:grid;gap:12px}
h1{font-size:18px;margin:0}h1 span{color:#58a6ff}
p{margin:0;color:#8b949e;font-size:13px}
label{display:grid;gap:6px;font-weight:500}
input{background:#0d1117;border:1px solid #30363d;color:#e6edf3;border-radius:6px;padding:8px 10px;font:inherit}
input:focus{outline:2px solid #58a6ff;outline-offset:-1px}
button{background:#58a6ff;color:#04111f;border:0;border-radius:6px;padding:9px 12px;font:inherit;font-weight:600;cursor:pointer}
.problem{color:#f85149}
</style>
</head>
<body>
<form method="post" action="/_host/login">
  <h1><span>cgi</span>host dashboard</h1>
  <p>This host has an admin token. Enter it to sign in; this browser stays signed in for 12 hours.</p>
  ${problem ? `<p class="problem" role="alert">${esc(problem)}</p>` : ''}
  <label>Admin token<input name="token" type="password" autocomplete="current-password" required autofocus></label>
  <button type="submit">Sign in</button>
</form>
<script>
// /_host/#token=… signs in at once (the token never reaches a server log: a fragment is not sent).
(() => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname + location.search);
  document.querySelector('input[name=token]').value = decodeURIComponent(m[1]);
  document.querySelector('form').submit();
})();
</script>
</body>
</html>
`;
}
