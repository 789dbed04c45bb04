/** "Connecting…" while the sync loop cannot reach the host (nothing when it can). */
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useAppState } from '../state/store.ts';

export function LinkStatus(): VNode | null {
  const link = useAppState((s) => s.link);
  // A first connect that takes a moment is not worth a flash of "Connecting…".
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (link === 'up') return setShown(false);
    const t = setTimeout(() => setShown(true), link === 'down' ? 0 : 1500);
    return () => clearTimeout(t);
  }, [link]);
  if (!shown || link === 'up') return null;
  return (
    <span class="link-status" role="status">
      <span class="spinner" aria-hidden="true" />
      {link === 'down' && !navigator.onLine ? 'Waiting for network…' : 'Connecting…'}
    </span>
  );
}
