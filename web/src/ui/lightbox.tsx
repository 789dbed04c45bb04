/** A picture at full size over everything. */
import type { VNode } from 'preact';
import { Dialog } from './dialog.tsx';
import { Icon } from './icons.tsx';

export function Lightbox({ src, onClose }: { src: string; onClose(): void }): VNode {
  return (
    <Dialog title="Picture" onClose={onClose} class="lightbox" bare>
      <button type="button" class="icon-btn lightbox-close" aria-label="Close" onClick={onClose}>
        <Icon name="close" />
      </button>
      <img src={src} alt="Picture" onClick={onClose} />
    </Dialog>
  );
}
