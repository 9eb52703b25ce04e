import { useEffect, useState } from 'preact/hooks';
import { api, explain } from '../api.ts';
import { type Catalogue, catalogue } from '../catalogue.ts';
import type { Webhook } from '../types.ts';
import { SecretReveal } from './secret.tsx';

interface HeaderRow {
  name: string;
  value: string;
}

/**
 * Create (no webhook) or edit (a webhook and its ETag). Custom header values are write-only: the API
 * shows only their names, so editing them means sending the whole list again, values included.
 */
export function WebhookForm({
  webhook,
  etag,
  onSaved,
  onCancel,
}: {
  webhook?: Webhook;
  etag?: string | null;
  onSaved?: (webhook: Webhook, etag: string | null) => void;
  onCancel?: () => void;
}) {
  const [known, setKnown] = useState<Catalogue>({ events: [], hasRateLimit: false });
  const [url, setUrl] = useState(webhook?.url ?? '');
  const [name, setName] = useState(webhook?.name ?? '');
  const [description, setDescription] = useState(webhook?.description ?? '');
  const [companyId, setCompanyId] = useState('');
  const [events, setEvents] = useState<string[]>(webhook?.events ?? ['PING']);
  const [replaceHeaders, setReplaceHeaders] = useState(!webhook);
  const [headers, setHeaders] = useState<HeaderRow[]>(
    webhook ? webhook.headers.map((header) => ({ name: header.name, value: '' })) : [],
  );
  const [rateLimit, setRateLimit] = useState(webhook?.rateLimitPerSecond?.toString() ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ id: string; signingSecret: string } | null>(null);

  useEffect(() => {
    void catalogue().then(setKnown);
  }, []);

  const toggle = (type: string, on: boolean) =>
    setEvents((current) => (on ? [...current, type] : current.filter((item) => item !== type)));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = {
      url: url.trim(),
      events,
      name: name.trim() || null,
      description: description.trim() || null,
    };
    if (replaceHeaders) body.headers = headers.filter((row) => row.name.trim() !== '');
    // Sent when set, or when cleared on a webhook that had one: a create without one leaves the default.
    if (known.hasRateLimit && rateLimit.trim() !== '') body.rateLimitPerSecond = Number(rateLimit);
    else if (known.hasRateLimit && webhook?.rateLimitPerSecond != null) body.rateLimitPerSecond = null;
    try {
      if (webhook) {
        const answer = await api<Webhook>('PATCH', `/webhooks/${webhook.id}`, {
          body,
          headers: etag ? { 'If-Match': etag } : {},
        });
        onSaved?.(answer.data, answer.etag);
      } else {
        if (companyId.trim()) body.companyId = companyId.trim();
        const answer = await api<Webhook & { signingSecret: string }>('POST', '/webhooks', { body });
        setCreated({ id: answer.data.id, signingSecret: answer.data.signingSecret });
      }
    } catch (failure) {
      setError(explain(failure));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <section aria-labelledby="created-title">
        <h1 id="created-title" tabIndex={-1}>
          Webhook created
        </h1>
        <SecretReveal secret={created.signingSecret} graceEndsAt={null} />
        <p>
          <a class="button primary" href={`#/webhooks/${created.id}`}>
            Open the webhook
          </a>
        </p>
      </section>
    );
  }

  return (
    <form class="form" onSubmit={submit} aria-labelledby="form-title">
      {webhook ? (
        <h2 id="form-title">Edit</h2>
      ) : (
        <h1 id="form-title" tabIndex={-1}>
          New webhook
        </h1>
      )}
      <label>
        Endpoint URL (https)
        <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
      <label>
        Name
        <input value={name} maxLength={255} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Description
        <textarea value={description} maxLength={1000} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      {!webhook && (
        <label>
          Company id (optional)
          <input value={companyId} onInput={(e) => setCompanyId(e.currentTarget.value)} />
        </label>
      )}
      {known.hasRateLimit && (
        <label>
          Rate limit (deliveries per second, empty for none)
          <input type="number" min={1} value={rateLimit} onInput={(e) => setRateLimit(e.currentTarget.value)} />
        </label>
      )}
      <fieldset>
        <legend>Events</legend>
        <div class="checks">
          {known.events.map((item) => (
            <label key={item.type} class="check">
              <input
                type="checkbox"
                checked={events.includes(item.type)}
                onChange={(e) => toggle(item.type, e.currentTarget.checked)}
              />
              {item.type}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Custom headers</legend>
        {webhook && webhook.headers.length > 0 && (
          <p class="muted">
            Set now: {webhook.headers.map((header) => `${header.name}: ••••••`).join(', ')} (values are never shown)
          </p>
        )}
        {webhook && (
          <label class="check">
            <input
              type="checkbox"
              checked={replaceHeaders}
              onChange={(e) => setReplaceHeaders(e.currentTarget.checked)}
            />
            Replace the custom headers (every value must be entered again)
          </label>
        )}
        {replaceHeaders && (
          <>
            {headers.map((row, index) => (
              <div class="header-row" key={index}>
                <label>
                  Header name
                  <input
                    value={row.name}
                    onInput={(e) => {
                      const value = e.currentTarget.value;
                      setHeaders((rows) => rows.map((item, i) => (i === index ? { ...item, name: value } : item)));
                    }}
                  />
                </label>
                <label>
                  Value
                  <input
                    type="password"
                    autoComplete="off"
                    value={row.value}
                    onInput={(e) => {
                      const value = e.currentTarget.value;
                      setHeaders((rows) => rows.map((item, i) => (i === index ? { ...item, value } : item)));
                    }}
                  />
                </label>
                <button type="button" onClick={() => setHeaders((rows) => rows.filter((_, i) => i !== index))}>
                  Remove header {row.name}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setHeaders((rows) => [...rows, { name: '', value: '' }])}>
              Add a header
            </button>
          </>
        )}
      </fieldset>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {webhook ? 'Save changes' : 'Create webhook'}
        </button>
        {webhook ? (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        ) : (
          <a class="button" href="#/">
            Cancel
          </a>
        )}
      </div>
    </form>
  );
}
