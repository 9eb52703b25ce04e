import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { catalogue } from '../catalogue.ts';
import { when } from '../format.ts';
import type { Delivery, Page } from '../types.ts';

const STATUSES = ['pending', 'succeeded', 'failed', 'skipped', 'cancelled'];

/** A datetime-local input's value as an ISO instant, or undefined when empty or unreadable. */
function instant(local: string): string | undefined {
  if (!local) return undefined;
  const time = new Date(local).getTime();
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** `version` changes when the page sent something (a test): the log is read again. */
export function Deliveries({ id, version = 0 }: { id: string; version?: number }) {
  const [status, setStatus] = useState('');
  const [event, setEvent] = useState('');
  const [since, setSince] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [page, setPage] = useState<Page<Delivery> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [recoverSince, setRecoverSince] = useState('');
  const [recovered, setRecovered] = useState<string | null>(null);

  const query = (cursor?: string) => {
    const params = new URLSearchParams();
    if (status) params.set('status', status);
    if (event) params.set('event', event);
    if (cursor) params.set('cursor', cursor);
    return `/webhooks/${id}/deliveries?${params}`;
  };
  const load = () =>
    api<Page<Delivery>>('GET', query())
      .then(({ data }) => setPage(data))
      .catch((failure) => setError(explain(failure)));

  useEffect(() => {
    void catalogue().then((found) => setEvents(found.events.map((item) => item.type)));
  }, []);
  useEffect(() => {
    setError(null);
    void load();
  }, [id, status, event, version]);

  const more = async () => {
    if (!page?.nextCursor) return;
    try {
      const { data } = await api<Page<Delivery>>('GET', query(page.nextCursor));
      setPage({ ...data, data: [...page.data, ...data.data] });
    } catch (failure) {
      setError(explain(failure));
    }
  };

  const recover = async (submitted: Event) => {
    submitted.preventDefault();
    setRecovered(null);
    const from = instant(recoverSince);
    if (!from) {
      setRecovered('Pick the time to recover from.');
      return;
    }
    try {
      const { data } = await api<{ count: number }>('POST', `/webhooks/${id}/recover`, { body: { since: from } });
      setRecovered(`${data.count} failed deliveries since ${when(from)} queued again.`);
      void load();
    } catch (failure) {
      setRecovered(explain(failure));
    }
  };

  // The API filters by status and event; the time filter narrows what was loaded (newest first).
  const from = instant(since);
  const shown = (page?.data ?? []).filter((delivery) => !from || delivery.createdAt >= from);

  return (
    <section aria-labelledby="deliveries-title">
      <div class="title-row">
        <h2 id="deliveries-title">Deliveries</h2>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter deliveries">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">Any</option>
            {STATUSES.map((item) => (
              <option key={item} value={item}>
                {item}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event type
          <select value={event} onChange={(e) => setEvent(e.currentTarget.value)}>
            <option value="">Any</option>
            {events.map((item) => (
              <option key={item} value={item}>
                {item}
              </option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </label>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && shown.length === 0 && <p>No deliveries match.</p>}
      {page && shown.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((delivery) => (
                <tr key={delivery.id}>
                  <td>
                    <a href={`#/webhooks/${id}/deliveries/${delivery.id}`}>{when(delivery.createdAt)}</a>
                  </td>
                  <td>
                    {delivery.event}
                    {delivery.isTest ? ' (test)' : ''}
                  </td>
                  <td>
                    <span class={`badge status-${delivery.status}`}>{delivery.status}</span>
                  </td>
                  <td>{delivery.attempts}</td>
                  <td>{delivery.lastHttpStatus ?? delivery.lastError ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page?.nextCursor && (
        <button type="button" onClick={more}>
          Load older deliveries
        </button>
      )}
      <form class="panel" onSubmit={recover} aria-labelledby="recover-title">
        <h3 id="recover-title">Recover failed deliveries</h3>
        <p class="muted">Sends again every delivery that failed since the time you pick.</p>
        <label>
          Failed since
          <input type="datetime-local" value={recoverSince} onInput={(e) => setRecoverSince(e.currentTarget.value)} />
        </label>
        <div class="actions">
          <button type="submit">Recover</button>
        </div>
        <p aria-live="polite">{recovered}</p>
      </form>
    </section>
  );
}
