// The webhook portal. The session token arrives in the link's fragment (#token=…), which no browser sends
// to a server; it is kept in this tab's sessionStorage and taken out of the address bar at once, so it
// is not in the history, a bookmark or a screen share. Views are hash routes (#/webhooks/<id>, …).
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { startSession, whenSessionEnds } from './api.ts';
import { Catalogue } from './views/catalogue.tsx';
import { DeliveryView } from './views/delivery.tsx';
import { SessionEnded } from './views/ended.tsx';
import { WebhookForm } from './views/form.tsx';
import { prefetchList, WebhookList } from './views/list.tsx';
import { WebhookView } from './views/webhook.tsx';

const STORAGE_KEY = 'instaview-portal-session';

function takeToken(): string | null {
  const match = /^#token=([A-Za-z0-9._~-]+)$/.exec(location.hash);
  if (match?.[1]) {
    sessionStorage.setItem(STORAGE_KEY, match[1]);
    history.replaceState(null, '', `${location.pathname}#/`);
    return match[1];
  }
  return sessionStorage.getItem(STORAGE_KEY);
}

type Route =
  | { view: 'list' }
  | { view: 'new' }
  | { view: 'events' }
  | { view: 'webhook'; id: string }
  | { view: 'delivery'; id: string; deliveryId: string };

function route(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'new') return { view: 'new' };
  if (parts[0] === 'events') return { view: 'events' };
  if (parts[0] === 'webhooks' && parts[1] && parts[2] === 'deliveries' && parts[3])
    return { view: 'delivery', id: parts[1], deliveryId: parts[3] };
  if (parts[0] === 'webhooks' && parts[1]) return { view: 'webhook', id: parts[1] };
  return { view: 'list' };
}

function App({ token }: { token: string | null }) {
  const [ended, setEnded] = useState<string | null>(token ? null : 'This link carries no portal session.');
  const [current, setCurrent] = useState<Route>(() => route(location.hash));
  const main = useRef<HTMLElement>(null);
  useEffect(
    () =>
      whenSessionEnds((message) => {
        sessionStorage.removeItem(STORAGE_KEY);
        setEnded(message);
      }),
    [],
  );
  useEffect(() => {
    const changed = () => {
      setCurrent(route(location.hash));
      // Keyboard and screen-reader users start at the new view's heading, not where the link was.
      requestAnimationFrame(() => main.current?.querySelector<HTMLElement>('h1')?.focus());
    };
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);

  if (ended !== null) return <SessionEnded message={ended} />;
  return (
    <>
      <header class="top">
        <span class="brand">InstaView webhooks</span>
        <nav aria-label="Portal">
          <a href="#/" aria-current={current.view === 'list' ? 'page' : undefined}>
            Webhooks
          </a>
          <a href="#/events" aria-current={current.view === 'events' ? 'page' : undefined}>
            Event types
          </a>
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {current.view === 'list' && <WebhookList />}
        {current.view === 'new' && <WebhookForm />}
        {current.view === 'events' && <Catalogue />}
        {current.view === 'webhook' && <WebhookView key={current.id} id={current.id} />}
        {current.view === 'delivery' && (
          <DeliveryView key={current.deliveryId} id={current.id} deliveryId={current.deliveryId} />
        )}
      </main>
    </>
  );
}

// When the bundle's libraries were evaluated and the page's own code began, for the browser suite's timeline.
performance.mark('portal-start');
const root = document.getElementById('app');
if (root) {
  const token = takeToken();
  if (token) {
    startSession(token);
    if (route(location.hash).view === 'list') prefetchList();
  }
  root.textContent = '';
  render(<App token={token} />, root);
}
