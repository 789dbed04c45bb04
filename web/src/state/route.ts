/**
 * Where the user is, kept in the address's hash (`#/chat/u:…`,
 * `#/contacts/…`, `#/me`), so the browser's back button and a reload keep
 * their place, and the host needs to serve nothing but `/`.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConvKey } from './store.ts';

export interface Route {
  tab: 'chats' | 'contacts' | 'me';
  chat?: ConvKey;
  contact?: string;
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'chat' && parts[1] && /^[ug]:./.test(parts[1])) return { tab: 'chats', chat: parts[1] };
  if (parts[0] === 'contacts') return parts[1] ? { tab: 'contacts', contact: parts[1] } : { tab: 'contacts' };
  if (parts[0] === 'me') return { tab: 'me' };
  return { tab: 'chats' };
}

export const currentRoute = (): Route => parseRoute(location.hash);

export const chatHref = (key: ConvKey) => `#/chat/${encodeURIComponent(key)}`;
export const contactHref = (uid: string) => `#/contacts/${encodeURIComponent(uid)}`;

export function go(href: string): void {
  if (location.hash !== href) location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
