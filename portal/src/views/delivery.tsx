import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { when } from '../format.ts';
import type { DeliveryDetail } from '../types.ts';

export function DeliveryView({ id, deliveryId }: { id: string; deliveryId: string }) {
  const [delivery, setDelivery] = useState<DeliveryDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const path = `/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}`;
  const load = () =>
    api<DeliveryDetail>('GET', path)
      .then(({ data }) => setDelivery(data))
      .catch((failure) => setError(explain(failure)));
  useEffect(() => {
    void load();
  }, [path]);

  const redeliver = async () => {
    setNotice(null);
    setError(null);
    try {
      await api('POST', `${path}/redeliver`);
      setNotice('Queued: it will be sent again in a moment. Refresh to see the new attempt.');
      void load();
    } catch (failure) {
      setError(explain(failure));
    }
  };

  return (
    <section aria-labelledby="delivery-title">
      <p>
        <a href={`#/webhooks/${id}`}>← Back to the webhook</a>
      </p>
      <h1 id="delivery-title" tabIndex={-1}>
        Delivery {delivery ? `of ${delivery.event}` : ''}
      </h1>
      <div aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
      {delivery && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd data-testid="delivery-status">
              <span class={`badge status-${delivery.status}`}>{delivery.status}</span>
            </dd>
            <dt>Delivery id (webhook-id header)</dt>
            <dd class="url">{delivery.id}</dd>
            <dt>Event id</dt>
            <dd class="url">{delivery.eventId}</dd>
            <dt>Created</dt>
            <dd>{when(delivery.createdAt)}</dd>
            <dt>Next attempt</dt>
            <dd>{when(delivery.nextAttemptAt)}</dd>
          </dl>
          <div class="actions">
            <button type="button" class="primary" onClick={redeliver}>
              Send it again
            </button>
            <button type="button" onClick={() => void load()}>
              Refresh
            </button>
          </div>
          <h2>Attempts</h2>
          {delivery.attemptLog.length === 0 ? (
            <p>No attempt yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Started</th>
                    <th scope="col">Status</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Response excerpt</th>
                  </tr>
                </thead>
                <tbody>
                  {delivery.attemptLog.map((attempt) => (
                    <tr key={attempt.number}>
                      <td>{attempt.number}</td>
                      <td>{when(attempt.startedAt)}</td>
                      <td>{attempt.httpStatus ?? attempt.error ?? '—'}</td>
                      <td>{attempt.durationMs === null ? '—' : `${attempt.durationMs} ms`}</td>
                      <td>
                        <code>{attempt.responseExcerpt ?? attempt.error ?? ''}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Payload as sent</h2>
          <pre>
            <code>{JSON.stringify(delivery.payload, null, 2)}</code>
          </pre>
        </>
      )}
    </section>
  );
}
