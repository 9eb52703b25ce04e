import { useEffect, useState } from 'preact/hooks';
import { type Answer, api, explain } from '../api.ts';
import { type Catalogue, catalogue } from '../catalogue.ts';
import { healthLabel, webhookTitle, when } from '../format.ts';
import type { Page, Webhook } from '../types.ts';

const FIRST_LIST = '/webhooks?';
let early: Promise<Answer<Page<Webhook>>> | undefined;

/** Starts the unfiltered list's request at once, before Preact has rendered anything. */
export function prefetchList(): void {
  early = api<Page<Webhook>>('GET', FIRST_LIST);
  early.catch(() => undefined);
}

/** Marks when the first list with data was on screen, for the browser suite's first-render figure. */
function markFirstRender(): void {
  const root = document.documentElement;
  if (!root.dataset.firstDataMs) root.dataset.firstDataMs = String(Math.round(performance.now()));
}

export function HealthBadge({ webhook }: { webhook: Webhook }) {
  const status = webhook.health?.status ?? (webhook.isActive ? null : 'disabled');
  if (!status) return null;
  return <span class={`badge badge-${status}`}>{healthLabel(status)}</span>;
}

export function WebhookList() {
  const [page, setPage] = useState<Page<Webhook> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const [active, setActive] = useState('');
  const [event, setEvent] = useState('');
  const [events, setEvents] = useState<Catalogue['events']>([]);

  useEffect(() => {
    const query = new URLSearchParams();
    if (active) query.set('isActive', active);
    if (event) query.set('event', event);
    setError(null);
    // The first, unfiltered list may already be on its way (firstList, started before the first render).
    const request = `/webhooks?${query}`;
    (request === FIRST_LIST && early ? early : api<Page<Webhook>>('GET', request))
      .then(({ data }) => {
        setPage(data);
        markFirstRender();
      })
      .catch((failure) => setError(explain(failure)))
      // The event types for the filter come after: the list is what the person is waiting for.
      .finally(() => void catalogue().then((found) => setEvents(found.events)));
    early = undefined;
  }, [active, event]);

  const more = async () => {
    if (!page?.nextCursor) return;
    const query = new URLSearchParams({ cursor: page.nextCursor });
    if (active) query.set('isActive', active);
    if (event) query.set('event', event);
    try {
      const { data } = await api<Page<Webhook>>('GET', `/webhooks?${query}`);
      setPage({ ...data, data: [...page.data, ...data.data] });
    } catch (failure) {
      setError(explain(failure));
    }
  };

  const needle = text.trim().toLowerCase();
  const shown = (page?.data ?? []).filter(
    (webhook) =>
      !needle ||
      webhook.url.toLowerCase().includes(needle) ||
      (webhook.name ?? '').toLowerCase().includes(needle) ||
      (webhook.description ?? '').toLowerCase().includes(needle),
  );

  return (
    <section aria-labelledby="list-title">
      <div class="title-row">
        <h1 id="list-title" tabIndex={-1}>
          Webhooks
        </h1>
        <a class="button primary" href="#/new">
          New webhook
        </a>
      </div>
      <form class="filters" aria-label="Filter webhooks" onSubmit={(e) => e.preventDefault()}>
        <label>
          Find
          <input type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="Name or URL" />
        </label>
        <label>
          State
          <select value={active} onChange={(e) => setActive(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="true">Enabled</option>
            <option value="false">Disabled</option>
          </select>
        </label>
        <label>
          Event type
          <select value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
            <option value="">Any</option>
            {events.map((item) => (
              <option key={item.type} value={item.type}>
                {item.type}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page === null && !error && <p aria-live="polite">Loading…</p>}
      {page !== null && (
        <>
          <p class="muted" aria-live="polite">
            {shown.length === page.data.length
              ? `${page.total ?? page.data.length} webhook${(page.total ?? page.data.length) === 1 ? '' : 's'}`
              : `${shown.length} of ${page.data.length} shown`}
          </p>
          {shown.length === 0 ? (
            <p>No webhooks here yet. Create one to start receiving events.</p>
          ) : (
            <ul class="cards">
              {shown.map((webhook) => (
                <li key={webhook.id} class="card">
                  <a href={`#/webhooks/${webhook.id}`} class="card-title">
                    {webhookTitle(webhook)}
                  </a>
                  <HealthBadge webhook={webhook} />
                  <div class="url">{webhook.url}</div>
                  <div class="muted">
                    {webhook.events.join(', ')} · created {when(webhook.createdAt)}
                  </div>
                </li>
              ))}
            </ul>
          )}
          {page.nextCursor && (
            <button type="button" onClick={more}>
              Load more
            </button>
          )}
        </>
      )}
    </section>
  );
}
