/** Sign in, or create an account and sign in with it (SPEC §4 Accounts). */
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, NetworkError } from '../api/client.ts';
import { begin } from '../state/lifecycle.ts';
import { signIn, signUp } from '../state/session.ts';

function explain(e: unknown, creating: boolean): string {
  if (e instanceof NetworkError) return 'Cannot reach the server. Check your connection and try again.';
  if (!(e instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (e.code) {
    case 'BAD_CREDENTIALS':
      return 'Wrong username or password.';
    case 'USERNAME_TAKEN':
      return 'That username is taken. Pick another one.';
    case 'RATE_LIMITED':
      return `Too many attempts. Try again in ${e.retryAfterSec ?? 60} seconds.`;
    case 'ACCOUNT_DISABLED':
      return 'This account is disabled.';
    case 'INVALID_INPUT':
      return creating
        ? 'Usernames are 3–32 lowercase letters, digits or _; passwords 8–128 characters.'
        : 'Enter your username and password.';
    default:
      return e.message;
  }
}

export function SignIn(): VNode {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<'in' | 'up' | null>(null);
  const [error, setError] = useState('');

  async function go(creating: boolean) {
    if (busy) return;
    setError('');
    // Usernames are lowercase only (SPEC §4): "Alice" typed on a phone's keyboard means alice.
    const name = username.trim().toLowerCase();
    if (creating && !/^[a-z0-9_]{3,32}$/.test(name)) {
      setError('Usernames are 3–32 lowercase letters, digits or _.');
      return;
    }
    if (creating && [...password].length < 8) {
      setError('Passwords are at least 8 characters.');
      return;
    }
    if (!name || !password) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(creating ? 'up' : 'in');
    try {
      const session = creating ? await signUp(name, password) : await signIn(name, password);
      await begin(session);
    } catch (e) {
      setError(explain(e, creating));
      setBusy(null);
    }
  }

  return (
    <main class="signin">
      <form
        class="signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          void go(false);
        }}
      >
        <div class="signin-logo" aria-hidden="true">
          <svg viewBox="0 0 64 64" width="64" height="64">
            <rect width="64" height="64" rx="16" fill="var(--accent)" />
            <path
              d="M27 15c-9.4 0-17 6.3-17 14.2 0 4.5 2.5 8.5 6.4 11.1L15 46l6.6-3.3c1.7.5 3.5.7 5.4.7.5 0 1 0 1.4-.1a12.6 12.6 0 0 1-.4-3C28 32.7 35 27 43.6 27c.5 0 .9 0 1.4.1C43.6 20.2 36.1 15 27 15z"
              fill="#fff"
            />
            <path
              d="M54 40.3c0-6.5-6.3-11.8-14-11.8s-14 5.3-14 11.8S32.3 52 40 52c1.6 0 3.1-.2 4.5-.6L50 54l-1.2-4.6c3.2-2.1 5.2-5.4 5.2-9.1z"
              fill="#fff"
              opacity=".85"
            />
          </svg>
        </div>
        <h1>Chat</h1>
        <p class="signin-sub">Sign in to message your friends on {location.host}.</p>
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            required
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        <p class="form-error" role="alert">
          {error}
        </p>
        <button class="btn primary wide" type="submit" disabled={!!busy}>
          {busy === 'in' ? 'Signing in…' : 'Sign in'}
        </button>
        <div class="signin-or">
          <span>New here?</span>
        </div>
        <button class="btn secondary wide" type="button" disabled={!!busy} onClick={() => void go(true)}>
          {busy === 'up' ? 'Creating account…' : 'Create account'}
        </button>
        <p class="signin-hint">Usernames: 3–32 lowercase letters, digits or _. Passwords: at least 8 characters.</p>
      </form>
    </main>
  );
}
