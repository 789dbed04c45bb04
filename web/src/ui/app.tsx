/** Signed out: the sign-in screen. Signed in: the chat shell. */
import type { VNode } from 'preact';
import { useAppState } from '../state/store.ts';
import { Shell } from './shell.tsx';
import { SignIn } from './sign-in.tsx';

export function App(): VNode | null {
  const session = useAppState((s) => s.session);
  const restored = useAppState((s) => s.restored);
  if (session) return <Shell />;
  if (restored) document.title = 'Chat';
  return restored ? <SignIn /> : null;
}
