/** The passing message at the bottom (an error, a confirmation). */
import type { VNode } from 'preact';
import { setState, useAppState } from '../state/store.ts';

export function Notice(): VNode {
  const notice = useAppState((s) => s.notice);
  return (
    <div class="notice-area" role="status" aria-live="polite">
      {notice && (
        <div class={`notice ${notice.kind}`} key={notice.id}>
          <span>{notice.text}</span>
          <button type="button" class="notice-close" aria-label="Dismiss" onClick={() => setState({ notice: null })}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
