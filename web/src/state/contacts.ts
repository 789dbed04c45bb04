/**
 * Contacts (SPEC §6): the list with incoming and outgoing requests and the
 * blocked users, refreshed whenever sync says it changed, and the actions.
 */
import { call, isRetryable } from '../api/client.ts';
import { needProfiles, rememberProfiles } from './directory.ts';
import { getState, setState } from './store.ts';

let inFlight: Promise<void> | null = null;
let again = false;

export function refreshContacts(): Promise<void> {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    do {
      again = false;
      try {
        const c = await call('getcontacts', {});
        setState({ contacts: c });
        rememberProfiles(c.contacts.map(({ since: _s, ...p }) => p));
        needProfiles([...c.incoming.map((x) => x.uid), ...c.outgoing.map((x) => x.uid), ...c.blocked]);
      } catch (e) {
        if (!isRetryable(e)) throw e;
      }
    } while (again);
  })().finally(() => (inFlight = null));
  return inFlight;
}

async function act(run: () => Promise<unknown>): Promise<void> {
  await run();
  await refreshContacts();
}

export const addContact = (uid: string, greeting?: string) => act(() => call('addcontact', greeting ? { uid, greeting } : { uid }));
export const acceptContact = (uid: string) => act(() => call('acceptcontact', { uid }));
export const declineContact = (uid: string) => act(() => call('declinecontact', { uid }));
export const removeContact = (uid: string) => act(() => call('delcontact', { uid }));
export const blockUser = (uid: string) => act(() => call('blockuser', { uid }));
export const unblockUser = (uid: string) => act(() => call('unblockuser', { uid }));

export function relation(uid: string): 'me' | 'contact' | 'incoming' | 'outgoing' | 'blocked' | 'none' {
  const s = getState();
  if (uid === s.session?.uid) return 'me';
  const c = s.contacts;
  if (!c) return 'none';
  if (c.blocked.includes(uid)) return 'blocked';
  if (c.contacts.some((x) => x.uid === uid)) return 'contact';
  if (c.incoming.some((x) => x.uid === uid)) return 'incoming';
  if (c.outgoing.some((x) => x.uid === uid)) return 'outgoing';
  return 'none';
}
