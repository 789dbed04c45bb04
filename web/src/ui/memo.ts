/** A function component that re-renders only when a prop changes (===): what preact/compat's memo does, without compat. */
import { Component, h, type FunctionComponent, type VNode } from 'preact';

export function memo<P extends object>(render: FunctionComponent<P>): FunctionComponent<P> {
  class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      const prev = this.props as Record<string, unknown>;
      const n = next as Record<string, unknown>;
      for (const k in n) if (k !== 'children' && prev[k] !== n[k]) return true;
      for (const k in prev) if (!(k in n)) return true;
      return false;
    }
    override render(props: P): VNode {
      return h(render as FunctionComponent<object>, props);
    }
  }
  return Memo as unknown as FunctionComponent<P>;
}
