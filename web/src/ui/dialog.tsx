/**
 * A modal, drawn on the body: it takes the focus when it opens and gives it back when it
 * closes, keeps Tab inside, and closes on Escape or a click outside.
 */
import { createPortal, type ComponentChildren, type VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { Icon } from './icons.tsx';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select, [tabindex]:not([tabindex="-1"])';

export function Dialog(props: { title: string; onClose(): void; children: ComponentChildren; class?: string; bare?: boolean }): VNode {
  const box = useRef<HTMLDivElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first =
      box.current?.querySelector<HTMLElement>('[autofocus], input, textarea') ?? box.current?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        close.current();
      } else if (e.key === 'Tab' && box.current) {
        const all = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
        if (!all.length) return;
        const [a, z] = [all[0]!, all[all.length - 1]!];
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      before?.focus?.();
    };
  }, []);
  // On the body: a dialog opened from inside a message row must not be confined by the row's layout containment.
  return createPortal(
    <div class="backdrop" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`dialog ${props.class ?? ''}`} role="dialog" aria-modal="true" aria-label={props.title} ref={box}>
        {!props.bare && (
          <header class="dialog-head">
            <h2>{props.title}</h2>
            <button type="button" class="icon-btn" aria-label="Close" onClick={props.onClose}>
              <Icon name="close" />
            </button>
          </header>
        )}
        {props.children}
      </div>
    </div>,
    document.body,
  );
}
