/** The web chat client (SPEC §7): restores the session, then renders. */
import { render } from 'preact';
import './styles/base.css';
import './styles/shell.css';
import './styles/lists.css';
import './styles/chat.css';
import './styles/panels.css';
import { boot } from './state/lifecycle.ts';
import { App } from './ui/app.tsx';

render(<App />, document.getElementById('app')!);
void boot();
