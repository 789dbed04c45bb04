/** Messages found by searchmsgs (SPEC §6), newest first; choosing one opens its conversation at it. */
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call } from '../api/client.ts';
import type { InboxEntry } from '../api/types.ts';
import { conversationName, displayName, needProfiles } from '../state/directory.ts';
import { convKeyOf, newConversation } from '../state/inbox.ts';
import { chatHref, go } from '../state/route.ts';
import { getState, useAppState } from '../state/store.ts';
import { focusMessage } from './focus.ts';
import { shortWhen } from './format.ts';

function Highlight({ text, query }: { text: string; query: string }): VNode {
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  if (at < 0) return <>{text}</>;
  // Show the match even in a long message.
  const from = Math.max(0, at - 30);
  return (
    <>
      {from > 0 ? '…' : ''}
      {text.slice(from, at)}
      <mark>{text.slice(at, at + query.length)}</mark>
      {text.slice(at + query.length)}
    </>
  );
}

export function SearchResults({ query }: { query: string }): VNode {
  const [found, setFound] = useState<{ query: string; messages: InboxEntry[] } | null>(null);
  const [error, setError] = useState('');
  const state = useAppState((s) => s);
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      call('searchmsgs', { query: query.slice(0, 100), limit: 50 }).then(
        (r) => {
          if (!live) return;
          setFound({ query, messages: r.messages });
          setError('');
          needProfiles(r.messages.flatMap((m) => [m.from, ...(m.to ? [m.to] : [])]));
        },
        (e: Error) => live && setError(e.message),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [query]);

  const me = state.session?.uid ?? '';
  const messages = found?.messages ?? [];
  return (
    <div class="pane-scroll">
      {error && <p class="empty">{error}</p>}
      {found && !messages.length && <p class="empty">No messages found for “{found.query}”.</p>}
      <ul class="conv-list search-list" aria-label="Search results">
        {messages.map((m) => {
          const key = convKeyOf(m, me);
          if (!key) return null;
          const conv = state.conversations[key] ?? newConversation(key);
          return (
            <li key={m.msgId}>
              <a
                class="conv"
                href={chatHref(key)}
                onClick={(e) => {
                  e.preventDefault();
                  focusMessage(key, m.seq);
                  go(chatHref(key));
                }}
              >
                <span class="conv-main">
                  <span class="conv-top">
                    <span class="conv-name">{conversationName(getState(), conv)}</span>
                    <time class="conv-time">{shortWhen(m.createdAt)}</time>
                  </span>
                  <span class="conv-bottom">
                    <span class="conv-preview">
                      {conv.groupId || m.from === me ? `${displayName(state, m.from)}: ` : ''}
                      <Highlight text={m.content ?? ''} query={found!.query} />
                    </span>
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
