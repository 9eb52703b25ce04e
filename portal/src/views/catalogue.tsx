import { useEffect, useState } from 'preact/hooks';
import { catalogue, type EventType } from '../catalogue.ts';

export function Catalogue() {
  const [events, setEvents] = useState<EventType[] | null>(null);
  useEffect(() => {
    void catalogue().then((found) => setEvents(found.events));
  }, []);
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title" tabIndex={-1}>
        Event types
      </h1>
      <p>
        What a webhook can subscribe to. Each delivery is a POST with this JSON body, signed under the Standard Webhooks
        scheme (webhook-id, webhook-timestamp and webhook-signature headers).
      </p>
      {events === null && <p>Loading…</p>}
      {events?.map((event) => (
        <details key={event.type} class="event">
          <summary>
            <code>{event.type}</code> {event.summary}
          </summary>
          <pre>
            <code>{JSON.stringify(event.example, null, 2)}</code>
          </pre>
        </details>
      ))}
    </section>
  );
}
