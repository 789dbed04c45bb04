/** A message to scroll to when its conversation opens next (a search result). */
let wanted: { key: string; seq: number } | null = null;

export function focusMessage(key: string, seq: number): void {
  wanted = { key, seq };
}

/** The seq to bring into view in this conversation, once. */
export function takeFocus(key: string): number | undefined {
  if (wanted?.key !== key) return undefined;
  const seq = wanted.seq;
  wanted = null;
  return seq;
}
