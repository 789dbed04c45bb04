/** One conversation: its header, its messages and the composer; a group's or contact's details beside it. */
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { relation } from '../state/contacts.ts';
import { conversationName, refreshGroup } from '../state/directory.ts';
import { newConversation } from '../state/inbox.ts';
import { useAppState } from '../state/store.ts';
import { markRead, openThread } from '../state/threads.ts';
import { Avatar } from './avatar.tsx';
import { Composer } from './composer.tsx';
import { ChatInfo } from './chat-info.tsx';
import { Icon } from './icons.tsx';
import { LinkStatus } from './link-status.tsx';
import { MessageArea } from './message-area.tsx';

export function ChatView({ convKey }: { convKey: string }): VNode {
  const conv = useAppState((s) => s.conversations[convKey]) ?? newConversation(convKey);
  const name = useAppState((s) => conversationName(s, s.conversations[convKey] ?? newConversation(convKey)));
  const group = useAppState((s) => (conv.groupId ? s.groups[conv.groupId] : undefined));
  const me = useAppState((s) => s.session?.uid ?? '');
  const avatar = useAppState((s) => (conv.peer ? s.profiles[conv.peer]?.avatarMediaId : undefined));
  const blocked = useAppState((s) => (conv.peer ? (s.contacts?.blocked.includes(conv.peer) ?? false) : false));
  const [info, setInfo] = useState(false);

  useEffect(() => {
    void openThread(convKey).then(() => {
      if (document.visibilityState === 'visible') void markRead(convKey);
    });
    if (conv.groupId && (!group || group.members.includes(me))) void refreshGroup(conv.groupId);
  }, [convKey]);

  const member = !group || group.members.includes(me);
  const sub = conv.groupId
    ? group
      ? `${group.members.length} member${group.members.length === 1 ? '' : 's'}`
      : ''
    : conv.peer === me
      ? 'Notes to yourself'
      : relation(conv.peer!) === 'contact'
        ? 'Contact'
        : '';

  return (
    <section class={`chat ${info ? 'with-info' : ''}`} aria-label={`Chat with ${name}`}>
      <div class="chat-main">
        <header class="chat-head">
          <a class="icon-btn back" href="#/" aria-label="Back">
            <Icon name="back" />
          </a>
          <Avatar id={convKey.slice(2)} name={name} mediaId={avatar} group={!!conv.groupId} size={38} />
          <div class="chat-title">
            <h2>{name}</h2>
            <div class="chat-sub">
              <LinkStatus />
              <span>{sub}</span>
            </div>
          </div>
          <button
            type="button"
            class={`icon-btn ${info ? 'on' : ''}`}
            aria-label={conv.groupId ? 'Group info' : 'Contact info'}
            aria-expanded={info}
            onClick={() => setInfo(!info)}
          >
            <Icon name="info" />
          </button>
        </header>
        <MessageArea convKey={convKey} />
        {blocked ? (
          <div class="composer-note">You blocked this person. Unblock them in Contacts to send messages.</div>
        ) : member ? (
          <Composer convKey={convKey} />
        ) : (
          <div class="composer-note">You are no longer a member of this group.</div>
        )}
      </div>
      {info && <ChatInfo convKey={convKey} onClose={() => setInfo(false)} />}
    </section>
  );
}
