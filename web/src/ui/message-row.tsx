/**
 * One line of a conversation: a day separator when the day changes, then a
 * notice (group changes, a recalled message) or a bubble with the sender's
 * name in groups, the content, the time and, for one's own messages, where
 * it stands: Sending…, Pending, Not sent, Sent or Read.
 */
import type { VNode } from 'preact';
import type { InboxEntry } from '../api/types.ts';
import { displayName } from '../state/directory.ts';
import { useAppState, type Outgoing } from '../state/store.ts';
import { Avatar } from './avatar.tsx';
import { systemText } from './describe.ts';
import { clock, dayLabel, sameDay } from './format.ts';
import { Icon } from './icons.tsx';
import { memo } from './memo.ts';
import { ImageContent, VideoContent, VoiceContent } from './message-content.tsx';
import { MessageMenu } from './message-menu.tsx';

export type Item = { kind: 'entry'; e: InboxEntry } | { kind: 'out'; o: Outgoing };

const RUN_MS = 5 * 60_000;

const at = (it: Item) => (it.kind === 'out' ? it.o.createdAt : it.e.createdAt);
const senderOf = (it: Item, me: string) => (it.kind === 'out' ? me : it.e.type === 'system' || it.e.recalled ? undefined : it.e.from);

interface RowProps {
  item: Item;
  prev?: Item;
  me: string;
  group: boolean;
  /** One's own 1:1 message that the peer has read. */
  read: boolean;
  focused: boolean;
}

function Status({ item, read }: { item: Item; read: boolean }): VNode {
  if (item.kind === 'out') {
    const o = item.o;
    if (o.state === 'failed') return <span class="status failed">Not sent</span>;
    if (o.state === 'pending')
      return (
        <span class="status pending">
          <Icon name="clock" size={13} /> Pending
        </span>
      );
    return <span class="status sending">Sending…</span>;
  }
  if (read) return <span class="status read">Read</span>;
  // A glyph, not an SVG: every row has one, and rows are made as fast as one scrolls.
  return (
    <span class="status sent" title="Sent">
      <span aria-hidden="true">✓</span>
      <span class="sr-only">Sent</span>
    </span>
  );
}

const URL_IN_TEXT = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]}'])/g;

/** Web addresses in a text as links (opened in a new tab, telling the site nothing of this page). */
function linkified(text: string): Array<string | VNode> {
  const parts: Array<string | VNode> = [];
  let at = 0;
  for (const m of text.matchAll(URL_IN_TEXT)) {
    parts.push(text.slice(at, m.index));
    parts.push(
      <a href={m[0]} target="_blank" rel="noopener noreferrer">
        {m[0]}
      </a>,
    );
    at = m.index! + m[0].length;
  }
  parts.push(text.slice(at));
  return parts;
}

function Content({ item }: { item: Item }): VNode {
  const m = item.kind === 'out' ? item.o : item.e;
  const file = item.kind === 'out' ? item.o.file : undefined;
  switch (m.type) {
    case 'image':
      return <ImageContent mediaId={m.mediaId} file={file} />;
    case 'video':
      return <VideoContent mediaId={m.mediaId} file={file} />;
    case 'voice':
      return <VoiceContent mediaId={m.mediaId} file={file} durationMs={m.durationMs ?? 0} />;
    default:
      return <p class="text">{linkified(m.content ?? '')}</p>;
  }
}

function Row({ item, prev, me, group, read, focused }: RowProps): VNode {
  const when = at(item);
  const day =
    !prev || !sameDay(at(prev), when) ? (
      <div class="day-sep">
        <span>{dayLabel(when)}</span>
      </div>
    ) : null;
  const from = senderOf(item, me);
  const name = useAppState((s) => (from && group ? displayName(s, from) : ''));
  const avatar = useAppState((s) => (from && group ? s.profiles[from]?.avatarMediaId : undefined));
  const notice = useAppState((s) =>
    item.kind === 'entry' && item.e.type === 'system'
      ? systemText(s, item.e)
      : item.kind === 'entry' && item.e.recalled
        ? `${item.e.from === me ? 'You' : displayName(s, item.e.from)} recalled a message`
        : '',
  );

  if (notice || !from) {
    return (
      <div class="row">
        {day}
        <div class="sys-line">
          <span>{notice}</span>
        </div>
      </div>
    );
  }
  const own = from === me;
  const first = !!day || !prev || senderOf(prev, me) !== from || when - at(prev) > RUN_MS;
  const type = item.kind === 'out' ? item.o.type : item.e.type;
  const failed = item.kind === 'out' && item.o.state === 'failed';
  return (
    <div class={`row ${first ? 'first' : ''}`}>
      {day}
      <div class={`msg ${own ? 'own' : 'other'} ${focused ? 'focused' : ''}`}>
        {!own && group && <span class="msg-avatar">{first && <Avatar id={from} name={name} mediaId={avatar} size={34} />}</span>}
        <div class="msg-col">
          {!own && group && first && <div class="msg-sender">{name}</div>}
          <div class={`bubble ${type} ${failed ? 'failed' : ''}`}>
            <Content item={item} />
            <span class="meta">
              <time dateTime={new Date(when).toISOString()} title={new Date(when).toLocaleString()}>
                {clock(when)}
              </time>
              {own && <Status item={item} read={read} />}
            </span>
          </div>
          {failed && <div class="fail-reason">{item.o.error}</div>}
        </div>
        <MessageMenu item={item} own={own} />
      </div>
    </div>
  );
}

export const MessageRow = memo(Row);
