/**
 * The signed-in layout: a navigation rail, a list pane (chats, contacts or
 * the profile) and a detail pane (the open conversation or contact). On a
 * phone-sized window one pane shows at a time and the rail becomes a tab
 * bar at the bottom; the CSS decides, from the route's classes.
 */
import type { VNode } from 'preact';
import { useEffect } from 'preact/hooks';
import { needProfiles } from '../state/directory.ts';
import { useRoute } from '../state/route.ts';
import { getState, useAppState } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { ChatList } from './chat-list.tsx';
import { ChatView } from './chat-view.tsx';
import { ContactCard } from './contact-card.tsx';
import { ContactsPane } from './contacts-pane.tsx';
import { Icon } from './icons.tsx';
import { Notice } from './notice.tsx';
import { ProfilePane } from './profile-pane.tsx';

function Rail({ tab }: { tab: string }): VNode {
  const me = useAppState((s) => s.session) ?? { uid: '', username: '' };
  const profile = useAppState((s) => s.profiles[s.session?.uid ?? '']);
  const unread = useAppState((s) => Object.values(s.conversations).reduce((n, c) => n + c.unread, 0));
  const requests = useAppState((s) => s.contacts?.incoming.length ?? 0);
  return (
    <nav class="rail" aria-label="Main">
      <a
        class={`rail-me ${tab === 'me' ? 'active' : ''}`}
        href="#/me"
        aria-label="Profile"
        aria-current={tab === 'me' ? 'page' : undefined}
      >
        <Avatar id={me.uid} name={profile?.displayName || me.username} mediaId={profile?.avatarMediaId} size={36} />
        <span class="rail-text">Me</span>
      </a>
      <a
        class={`rail-link ${tab === 'chats' ? 'active' : ''}`}
        href="#/"
        aria-label="Chats"
        aria-current={tab === 'chats' ? 'page' : undefined}
        title="Chats"
      >
        <Icon name="chats" size={24} />
        <span class="rail-text">Chats</span>
        {unread > 0 && (
          <span class="dot-badge" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </a>
      <a
        class={`rail-link ${tab === 'contacts' ? 'active' : ''}`}
        href="#/contacts"
        aria-label="Contacts"
        aria-current={tab === 'contacts' ? 'page' : undefined}
        title="Contacts"
      >
        <Icon name="contacts" size={24} />
        <span class="rail-text">Contacts</span>
        {requests > 0 && (
          <span class="dot-badge" aria-hidden="true">
            {requests}
          </span>
        )}
      </a>
    </nav>
  );
}

/** The unread count in the tab's title, as mail and chat apps do: "(3) Chat". */
function useTitle(): void {
  const unread = useAppState((s) => Object.values(s.conversations).reduce((n, c) => n + c.unread, 0));
  useEffect(() => {
    document.title = unread ? `(${unread > 99 ? '99+' : unread}) Chat` : 'Chat';
  }, [unread]);
}

export function Shell(): VNode {
  const route = useRoute();
  useTitle();
  useEffect(() => needProfiles([getState().session?.uid ?? '']), []);
  const detail = route.chat ? (
    <ChatView key={route.chat} convKey={route.chat} />
  ) : route.contact ? (
    <ContactCard key={route.contact} uid={route.contact} />
  ) : (
    <div class="placeholder">
      <div class="placeholder-art" aria-hidden="true">
        <Icon name={route.tab === 'contacts' ? 'contacts' : 'chats'} size={56} />
      </div>
      <p>{route.tab === 'contacts' ? 'Select a contact to see their details' : 'Select a chat to start messaging'}</p>
    </div>
  );
  const open = !!(route.chat || route.contact);
  return (
    <div class={`shell tab-${route.tab} ${open ? 'detail-open' : ''}`}>
      <Rail tab={route.tab} />
      <aside class="pane-list">{route.tab === 'contacts' ? <ContactsPane /> : route.tab === 'me' ? <ProfilePane /> : <ChatList />}</aside>
      <main class="pane-detail">{detail}</main>
      <Notice />
    </div>
  );
}
