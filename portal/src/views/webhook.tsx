import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, explain } from '../api.ts';
import { webhookTitle, when } from '../format.ts';
import type { TestAnswer, Webhook } from '../types.ts';
import { StatsChart } from './chart.tsx';
import { Deliveries } from './deliveries.tsx';
import { WebhookForm } from './form.tsx';
import { HealthBadge } from './list.tsx';
import { SecretReveal } from './secret.tsx';

const DISABLED_REASON: Record<string, string> = {
  FAILING: 'turned off after failing for too long',
  GONE: 'turned off because the endpoint answered 410 Gone',
  MANUAL: 'turned off by hand',
};

const GRACE_PERIODS = [
  { seconds: 0, label: 'End the old secret now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours' },
  { seconds: 604800, label: '7 days' },
];

type Panel = 'none' | 'edit' | 'rotate' | 'delete';

export function WebhookView({ id }: { id: string }) {
  const [webhook, setWebhook] = useState<Webhook | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel>('none');
  const [test, setTest] = useState<TestAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(0);
  const [grace, setGrace] = useState(86400);
  const [rotated, setRotated] = useState<{ signingSecret: string; previousSecretExpiresAt: string | null } | null>(
    null,
  );

  const load = () =>
    api<Webhook>('GET', `/webhooks/${encodeURIComponent(id)}`)
      .then((answer) => {
        setWebhook(answer.data);
        setEtag(answer.etag);
      })
      .catch((failure) => setError(explain(failure)));
  useEffect(() => {
    void load();
  }, [id]);

  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await what();
    } catch (failure) {
      if (failure instanceof ApiFailure && failure.code === 'PRECONDITION_FAILED') {
        await load();
        setError('The webhook changed since this page loaded it (shown now as it is); try again.');
      } else {
        setError(explain(failure));
      }
    } finally {
      setBusy(false);
    }
  };

  if (!webhook) {
    return (
      <section>
        <h1 tabIndex={-1}>Webhook</h1>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : (
          <p>Loading…</p>
        )}
        <a href="#/">Back to the webhooks</a>
      </section>
    );
  }

  const setActive = (isActive: boolean) =>
    act(async () => {
      const answer = await api<Webhook>('PATCH', `/webhooks/${webhook.id}`, {
        body: { isActive },
        headers: etag ? { 'If-Match': etag } : {},
      });
      setWebhook(answer.data);
      setEtag(answer.etag);
      setNotice(isActive ? 'Enabled: events are delivered again.' : 'Disabled: no events are delivered.');
    });

  const sendTest = () =>
    act(async () => {
      setTest(null);
      setTest((await api<TestAnswer>('POST', `/webhooks/${webhook.id}/test`)).data);
      setSent((count) => count + 1);
    });

  const rotate = () =>
    act(async () => {
      const answer = await api<{ signingSecret: string; previousSecretExpiresAt: string | null }>(
        'POST',
        `/webhooks/${webhook.id}/rotate-secret`,
        { body: { gracePeriodSeconds: grace } },
      );
      setRotated(answer.data);
      // Rotating moves the webhook to a new revision: the next change needs its new ETag.
      await load();
    });

  const remove = () =>
    act(async () => {
      await api('DELETE', `/webhooks/${webhook.id}`, { headers: etag ? { 'If-Match': etag } : {} });
      location.hash = '#/';
    });

  const reason = webhook.disabledReason ? (DISABLED_REASON[webhook.disabledReason] ?? webhook.disabledReason) : null;

  return (
    <section aria-labelledby="webhook-title">
      <p>
        <a href="#/">← All webhooks</a>
      </p>
      <div class="title-row">
        <h1 id="webhook-title" tabIndex={-1}>
          {webhookTitle(webhook)}
        </h1>
        <HealthBadge webhook={webhook} />
      </div>
      <dl class="facts">
        <dt>URL</dt>
        <dd class="url">{webhook.url}</dd>
        <dt>State</dt>
        <dd data-testid="webhook-state">
          {webhook.isActive ? 'Enabled' : `Disabled${reason ? `: ${reason}` : ''}`}
          {!webhook.isActive && webhook.disabledAt ? ` (since ${when(webhook.disabledAt)})` : ''}
        </dd>
        {webhook.description && (
          <>
            <dt>Description</dt>
            <dd>{webhook.description}</dd>
          </>
        )}
        <dt>Events</dt>
        <dd>{webhook.events.join(', ')}</dd>
        <dt>Custom headers</dt>
        <dd>
          {webhook.headers.length === 0 ? 'None' : webhook.headers.map((header) => `${header.name}: ••••••`).join(', ')}
        </dd>
        {webhook.rateLimitPerSecond !== undefined && (
          <>
            <dt>Rate limit</dt>
            <dd>{webhook.rateLimitPerSecond === null ? 'None' : `${webhook.rateLimitPerSecond} per second`}</dd>
          </>
        )}
        {webhook.health?.lastSuccessAt !== undefined && (
          <>
            <dt>Last success</dt>
            <dd>{when(webhook.health.lastSuccessAt)}</dd>
          </>
        )}
        {webhook.circuitOpenedAt && (
          <>
            <dt>Paused since</dt>
            <dd>{when(webhook.circuitOpenedAt)} (after repeated failures; a probe retries later)</dd>
          </>
        )}
      </dl>
      <div class="actions">
        <button type="button" onClick={sendTest} disabled={busy}>
          Send a test event
        </button>
        <button
          type="button"
          onClick={() => setPanel(panel === 'edit' ? 'none' : 'edit')}
          aria-expanded={panel === 'edit'}
        >
          Edit
        </button>
        <button type="button" onClick={() => setActive(!webhook.isActive)} disabled={busy}>
          {webhook.isActive ? 'Disable' : 'Enable'}
        </button>
        <button
          type="button"
          onClick={() => setPanel(panel === 'rotate' ? 'none' : 'rotate')}
          aria-expanded={panel === 'rotate'}
        >
          Rotate signing secret
        </button>
        <button
          type="button"
          class="danger"
          onClick={() => setPanel(panel === 'delete' ? 'none' : 'delete')}
          aria-expanded={panel === 'delete'}
        >
          Delete
        </button>
      </div>
      <div aria-live="polite">
        {notice && <p class="notice">{notice}</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {test && (
          <div class={test.success ? 'notice' : 'error'} data-testid="test-answer">
            <p>
              <strong>{test.success ? 'Test delivered.' : 'Test failed.'}</strong> {test.message}
            </p>
            <p>
              Status {test.httpStatus ?? 'none'} · {test.durationMs} ms ·{' '}
              <a href={`#/webhooks/${webhook.id}/deliveries/${test.deliveryId}`}>see the delivery and its response</a>
            </p>
          </div>
        )}
      </div>
      {panel === 'edit' && (
        <WebhookForm
          webhook={webhook}
          etag={etag}
          onSaved={(saved, savedEtag) => {
            setWebhook(saved);
            setEtag(savedEtag);
            setPanel('none');
            setNotice('Saved.');
          }}
          onCancel={() => setPanel('none')}
        />
      )}
      {panel === 'rotate' && (
        <div class="panel">
          <h2>Rotate the signing secret</h2>
          {rotated ? (
            <SecretReveal secret={rotated.signingSecret} graceEndsAt={rotated.previousSecretExpiresAt} />
          ) : (
            <>
              <label>
                Keep the old secret working for
                <select value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
                  {GRACE_PERIODS.map((period) => (
                    <option key={period.seconds} value={period.seconds}>
                      {period.label}
                    </option>
                  ))}
                </select>
              </label>
              <div class="actions">
                <button type="button" class="primary" onClick={rotate} disabled={busy}>
                  Rotate now
                </button>
              </div>
            </>
          )}
        </div>
      )}
      {panel === 'delete' && (
        <div class="panel danger-zone" role="alertdialog" aria-labelledby="delete-title">
          <h2 id="delete-title">Delete this webhook?</h2>
          <p>Its deliveries go with it, and whatever is still pending is never sent. This cannot be undone.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={remove} disabled={busy}>
              Delete for good
            </button>
            <button type="button" onClick={() => setPanel('none')}>
              Keep it
            </button>
          </div>
        </div>
      )}
      <StatsChart id={webhook.id} />
      <Deliveries id={webhook.id} version={sent} />
    </section>
  );
}
