// The UI's shell: navigation, the route read from the address (`#/invocations?status=…`), and
// the token prompt shown when the admin API answers 401.
import { render, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { adminToken, setAdminToken } from './api.ts';
import { UNAUTHORIZED_EVENT, html } from './html.ts';
import { InvocationView } from './views/invocation.ts';
import { Invocations, parseFilters } from './views/invocations.ts';
import { ObjectPicker, ObjectView } from './views/object.ts';
import { Overview } from './views/overview.ts';
import { SqlConsole } from './views/sql.ts';

/** The address after `#`: path segments and query parameters. */
interface Route {
  parts: string[];
  params: URLSearchParams;
}

function readRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, params: new URLSearchParams(search) };
}

function useRoute(): Route {
  const [route, setRoute] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRoute(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function page(route: Route): VNode {
  const [view, a, b] = route.parts;
  switch (view) {
    case 'invocations':
      return html`<${Invocations} filters=${parseFilters(route.params)} />`;
    case 'invocation':
      return a !== undefined ? html`<${InvocationView} key=${a} id=${a} />` : html`<${Invocations} filters=${{}} />`;
    case 'objects':
      return html`<${ObjectPicker} service=${route.params.get('service') || undefined} />`;
    case 'object':
      return a !== undefined && b !== undefined
        ? html`<${ObjectView} key=${`${a}/${b}`} service=${a} objectKey=${b} />`
        : html`<${ObjectPicker} service=${a} />`;
    case 'sql':
      return html`<${SqlConsole} />`;
    default:
      return html`<${Overview} />`;
  }
}

function TokenPrompt({ onClose }: { onClose: () => void }): VNode {
  const [value, setValue] = useState('');
  return html`<div class="backdrop">
    <form class="dialog" role="dialog" aria-modal="true" aria-label="Admin token"
      onSubmit=${(e: Event) => { e.preventDefault(); setAdminToken(value.trim()); onClose(); }}>
      <h2>The admin API needs a token</h2>
      <p>It answered <strong>401 unauthorized</strong>. Paste a bearer token from the server's admin token file;
        it is kept in this browser tab only.</p>
      <input type="password" name="token" aria-label="bearer token" autocomplete="off" value=${value}
        onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} />
      <div class="buttons">
        <button type="button" onClick=${onClose}>Later</button>
        <button type="submit">Use token</button>
      </div>
    </form>
  </div>`;
}

function App(): VNode {
  const route = useRoute();
  const [askToken, setAskToken] = useState(false);
  // Bumped when a token is entered, so every view loads again with it.
  const [session, setSession] = useState(0);
  useEffect(() => {
    const ask = () => setAskToken(true);
    window.addEventListener(UNAUTHORIZED_EVENT, ask);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, ask);
  }, []);
  const current = route.parts[0] ?? '';
  const nav = (view: string, label: string) =>
    html`<a href=${`#/${view}`} class=${current === view || (view === 'invocations' && current === 'invocation') || (view === 'objects' && current === 'object') ? 'active' : ''}>${label}</a>`;
  return html`<header>
      <a class="brand" href="#/">Endure</a>
      <nav>${nav('', 'Overview')}${nav('invocations', 'Invocations')}${nav('objects', 'Objects')}${nav('sql', 'SQL')}</nav>
      <button type="button" class="token" onClick=${() => setAskToken(true)}>${adminToken() !== undefined ? 'Token ✓' : 'Token'}</button>
    </header>
    <main key=${session}>${page(route)}</main>
    ${askToken && html`<${TokenPrompt} onClose=${() => { setAskToken(false); setSession(session + 1); }} />`}`;
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement);
