/**
 * A message's actions, from its "⋯" button or a right click / long press:
 * Recall (one's own, within the recall window), Copy, and Retry or Delete
 * for a message that has not gone out.
 */
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call } from '../api/client.ts';
import { discard, retryFailed } from '../state/outbox.ts';
import { notify } from '../state/store.ts';
import { markRecalled } from '../state/threads.ts';
import type { Item } from './message-row.tsx';

/** SPEC §6's default recall window; the host has the last word (RECALL_WINDOW_PASSED). */
const RECALL_WINDOW_MS = 120_000;

async function recall(msgId: string): Promise<void> {
  try {
    await call('recallmsg', { msgId });
    markRecalled(msgId);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'RECALL_WINDOW_PASSED') notify('Messages can only be recalled for 2 minutes after sending.');
    else notify(e instanceof Error ? e.message : 'Could not recall the message.');
  }
}

export function MessageMenu({ item, own }: { item: Item; own: boolean }): VNode | null {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => !box.current?.contains(e.target as Node) && setOpen(false);
    const key = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('pointerdown', away, true);
    document.addEventListener('keydown', key);
    box.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    return () => {
      document.removeEventListener('pointerdown', away, true);
      document.removeEventListener('keydown', key);
    };
  }, [open]);

  // Right click (or a long press on a touch screen) on the message opens the same menu.
  useEffect(() => {
    const msg = box.current?.parentElement;
    if (!msg) return;
    const onContext = (e: Event) => {
      if ((e.target as HTMLElement).closest('a, video, audio')) return;
      e.preventDefault();
      setOpen(true);
    };
    msg.addEventListener('contextmenu', onContext);
    return () => msg.removeEventListener('contextmenu', onContext);
  }, []);

  const actions: Array<{ label: string; run(): void; danger?: boolean }> = [];
  if (item.kind === 'out') {
    const o = item.o;
    if (o.state === 'failed') actions.push({ label: 'Retry', run: () => retryFailed(o.clientMsgId) });
    if (o.state !== 'sending') actions.push({ label: 'Delete', run: () => discard(o.clientMsgId), danger: true });
  } else {
    const e = item.e;
    if (e.type === 'text' && navigator.clipboard)
      actions.push({ label: 'Copy', run: () => void navigator.clipboard.writeText(e.content ?? '') });
    if (own && Date.now() - e.createdAt < RECALL_WINDOW_MS)
      actions.push({ label: 'Recall', run: () => void recall(e.msgId), danger: true });
  }
  if (!actions.length) return null;
  return (
    <div class="msg-menu" ref={box}>
      <button
        type="button"
        class="icon-btn small menu-btn"
        aria-label="More actions"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {open && (
        <div class="menu" role="menu">
          {actions.map((a) => (
            <button
              key={a.label}
              type="button"
              role="menuitem"
              class={a.danger ? 'danger' : ''}
              onClick={() => {
                setOpen(false);
                a.run();
              }}
            >
              {a.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
