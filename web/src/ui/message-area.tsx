/**
 * The messages of one conversation (SPEC §7: a list named "Messages"):
 * loaded history and sync's new entries, then what is still being sent.
 * Rendered virtually; scrolling near the top loads the page before.
 */
import type { VNode } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { InboxEntry } from '../api/types.ts';
import { readUpToSeq } from '../state/inbox.ts';
import { useAppState, type Outgoing } from '../state/store.ts';
import { loadOlder, openThread } from '../state/threads.ts';
import { VirtualList } from '../virtual/virtual-list.tsx';
import { useFocus } from './focus.ts';
import { Icon } from './icons.tsx';
import { MessageRow, type Item } from './message-row.tsx';

const sameOutbox = (a: Outgoing[], b: Outgoing[]) => a.length === b.length && a.every((o, i) => o === b[i]);

/** A first guess of an item's height, until it is measured. */
function estimate(it: Item): number {
  const type = it.kind === 'out' ? it.o.type : it.e.type;
  if (it.kind === 'entry' && (it.e.type === 'system' || it.e.recalled)) return 40;
  if (type === 'image') return 236;
  if (type === 'video') return 196;
  if (type === 'voice') return 60;
  const text = (it.kind === 'out' ? it.o.content : it.e.content) ?? '';
  return 46 + 21 * Math.floor(text.length / 48);
}

export function MessageArea({ convKey }: { convKey: string }): VNode {
  const me = useAppState((s) => s.session?.uid ?? '');
  const thread = useAppState((s) => s.threads[convKey]);
  const outbox = useAppState((s) => s.outbox.filter((o) => o.key === convKey), sameOutbox);
  const group = convKey.startsWith('g:');
  const readSeq = useAppState((s) => (group ? 0 : readUpToSeq(s.peerRead[convKey], s.threads[convKey])));
  const [pinned, setPinned] = useState(true);
  const [bottomRequest, setBottomRequest] = useState(0);
  const focusSeq = useFocus(convKey);

  const messages = thread?.messages;
  const items = useMemo<Item[]>(
    () => [...(messages ?? []).map((e): Item => ({ kind: 'entry', e })), ...outbox.map((o): Item => ({ kind: 'out', o }))],
    [messages, outbox],
  );
  const keyOf = useCallback(
    (it: Item) =>
      it.kind === 'out' ? `c:${it.o.clientMsgId}` : it.e.from === me && it.e.clientMsgId ? `c:${it.e.clientMsgId}` : `m:${it.e.msgId}`,
    [me],
  );

  // A search result older than what is loaded: load pages until it is.
  useEffect(() => {
    if (!focusSeq || !thread || thread.loading || !thread.more) return;
    if ((thread.messages[0]?.seq ?? Infinity) > focusSeq) void loadOlder(convKey);
  }, [thread, focusSeq]);
  const focusEntry = focusSeq ? messages?.find((m: InboxEntry) => m.seq === focusSeq) : undefined;

  // Sending scrolls to the newest message.
  const sent = useRef(outbox.length);
  useEffect(() => {
    if (outbox.length > sent.current) setBottomRequest((n) => n + 1);
    sent.current = outbox.length;
  }, [outbox.length]);

  const render = useCallback(
    (it: Item, i: number) => {
      const prev = i > 0 ? items[i - 1] : undefined;
      const read = !group && it.kind === 'entry' && it.e.from === me && it.e.seq <= readSeq;
      return <MessageRow item={it} prev={prev} me={me} group={group} read={read} focused={it.kind === 'entry' && it.e === focusEntry} />;
    },
    [items, me, group, readSeq, focusEntry],
  );

  const header = (
    <div class="history-status">
      {thread?.loading ? (
        <>
          <span class="spinner" aria-hidden="true" /> Loading messages…
        </>
      ) : thread?.error ? (
        <button type="button" class="link-btn" onClick={() => void (thread.messages.length ? loadOlder(convKey) : openThread(convKey))}>
          Could not load messages. Try again
        </button>
      ) : thread && !thread.more ? (
        !items.length && <span class="history-start">No messages yet. Say hello!</span>
      ) : null}
    </div>
  );

  return (
    <div class="messages">
      <VirtualList
        items={items}
        keyOf={keyOf}
        estimate={estimate}
        render={render}
        header={header}
        label="Messages"
        onNearTop={() => void loadOlder(convKey)}
        onPinnedChange={setPinned}
        focusKey={focusEntry ? keyOf({ kind: 'entry', e: focusEntry }) : undefined}
        bottomRequest={bottomRequest}
      />
      {!pinned && (
        <button type="button" class="to-bottom" aria-label="Jump to latest" onClick={() => setBottomRequest((n) => n + 1)}>
          <Icon name="down" />
        </button>
      )}
    </div>
  );
}
