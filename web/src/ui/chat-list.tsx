/**
 * The Chats pane: conversations newest first with unread badges (SPEC §7:
 * a list named "Conversations" whose items are named by the conversation's
 * name and contain "N unread"), message search, and "New group".
 */
import type { VNode } from 'preact';
import { useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { conversationName } from '../state/directory.ts';
import { chatHref, useRoute } from '../state/route.ts';
import { shallowEqual, useAppState, type Conversation, type State } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { pendingPreview, preview } from './describe.ts';
import { shortWhen } from './format.ts';
import { Icon } from './icons.tsx';
import { LinkStatus } from './link-status.tsx';
import { NewGroupDialog } from './new-group-dialog.tsx';
import { SearchResults } from './search-results.tsx';

interface Row {
  key: string;
  conv: Conversation;
  name: string;
  preview: string;
  when?: number;
  pending: 'sending' | 'pending' | 'failed' | null;
  avatar?: string;
}

/** Newest activity first; a conversation with something being sent counts as active now. */
function rows(s: State): Row[] {
  const lastOut = new Map<string, State['outbox'][number]>();
  for (const o of s.outbox) lastOut.set(o.key, o);
  const list = Object.values(s.conversations)
    .filter((c) => c.lastSeq > 0 || lastOut.has(c.key))
    .map((c): Row & { sort: number } => {
      const out = lastOut.get(c.key);
      const p = c.peer ? s.profiles[c.peer] : undefined;
      return {
        key: c.key,
        conv: c,
        name: conversationName(s, c),
        preview: out ? pendingPreview(out) : preview(s, c.lastMessage, !!c.groupId),
        when: out ? out.createdAt : c.lastMessage?.createdAt,
        pending: out ? out.state : null,
        avatar: p?.avatarMediaId,
        sort: out ? Number.MAX_SAFE_INTEGER - (1e13 - out.createdAt) : c.lastSeq,
      };
    });
  return list.sort((a, b) => b.sort - a.sort);
}

const rowsEqual = (a: Row[], b: Row[]) => a.length === b.length && a.every((r, i) => shallowEqual(r, b[i]));

let markedVisible = false;

export function ChatList(): VNode {
  const route = useRoute();
  const list = useAppState(rows, rowsEqual);
  const restored = useAppState((s) => s.restored);
  const [query, setQuery] = useState('');
  const [creating, setCreating] = useState(false);
  const active = route.chat;

  // The bench reads this mark: the conversation list is on screen (navigation → visible), in the frame after it is in the DOM.
  useLayoutEffect(() => {
    if (!markedVisible && restored && list.length) {
      markedVisible = true;
      requestAnimationFrame(() => performance.mark('conversations-visible'));
    }
  }, [restored, list.length]);

  return (
    <div class="pane">
      <header class="pane-head">
        <h1>Chats</h1>
        <LinkStatus />
        <button type="button" class="icon-btn" aria-label="New group" title="New group" onClick={() => setCreating(true)}>
          <Icon name="plus" />
        </button>
      </header>
      <div class="search-box">
        <Icon name="search" size={18} />
        <input type="search" aria-label="Search" placeholder="Search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      {query.trim() ? <SearchResults query={query.trim()} /> : <ConversationList list={list} active={active} restored={restored} />}
      {creating && <NewGroupDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

function ConversationList({ list, active, restored }: { list: Row[]; active?: string; restored: boolean }): VNode {
  const now = useMemo(() => Date.now(), [list]);
  if (!list.length) {
    return (
      <div class="pane-scroll">
        <ul class="conv-list" aria-label="Conversations" />
        {restored && (
          <div class="empty">
            <p>No chats yet.</p>
            <p>
              <a href="#/contacts">Find people</a> by their username and say hello.
            </p>
          </div>
        )}
      </div>
    );
  }
  return (
    <div class="pane-scroll">
      <ul class="conv-list" aria-label="Conversations">
        {list.map((r) => (
          <li key={r.key} class={`${r.key === active ? 'active' : ''} ${r.conv.unread ? 'unread' : ''}`} aria-labelledby={`cn-${r.key}`}>
            <a href={chatHref(r.key)} class="conv" aria-current={r.key === active ? 'true' : undefined}>
              <Avatar id={r.key.slice(2)} name={r.name} mediaId={r.avatar} group={!!r.conv.groupId} size={48} />
              <span class="conv-main">
                <span class="conv-top">
                  <span class="conv-name" id={`cn-${r.key}`}>
                    {r.name}
                  </span>
                  {r.when && <time class="conv-time">{shortWhen(r.when, now)}</time>}
                </span>
                <span class="conv-bottom">
                  <span class={`conv-preview ${r.pending === 'failed' ? 'failed' : ''}`}>
                    {r.pending === 'failed' && <Icon name="alert" size={14} />}
                    {r.pending === 'pending' && <Icon name="clock" size={14} />}
                    {r.preview}
                  </span>
                  {r.conv.unread > 0 && (
                    <span class="badge">
                      {r.conv.unread > 999 ? '999+' : r.conv.unread}
                      <span class="sr-only"> unread</span>
                    </span>
                  )}
                </span>
              </span>
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
