/** A message to bring into view in a conversation (a search result), whether it is open already or opens next. */
import { useEffect, useState } from 'preact/hooks';

let wanted: { key: string; seq: number } | null = null;
const listeners = new Set<(key: string, seq: number) => void>();

export function focusMessage(key: string, seq: number): void {
  wanted = { key, seq };
  for (const l of listeners) l(key, seq);
}

/** The seq to bring into view in this conversation: asked before it opened, or while it is open. */
export function useFocus(key: string): number | undefined {
  const [seq, setSeq] = useState(() => {
    if (wanted?.key !== key) return undefined;
    const s = wanted.seq;
    wanted = null;
    return s;
  });
  useEffect(() => {
    const l = (k: string, s: number) => {
      if (k !== key) return;
      wanted = null;
      setSeq(s);
    };
    listeners.add(l);
    return () => void listeners.delete(l);
  }, [key]);
  return seq;
}
