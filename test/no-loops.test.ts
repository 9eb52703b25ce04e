// Issue 16, finding 1: the service must never be made to call itself. A webhook pointed at the API
// (its own origin, its configured hostnames, any *.workers.dev host) is refused at create and PATCH and
// at send time; and a request that carries this service's delivery headers, however it got here, is
// refused before it changes anything.
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { API_ORIGIN, expectError, expectValidationIssues, randomClientAddress, throughWorker } from './support/api.ts';
import { storedWebhook } from './support/database.ts';
import { consumeOne, deliveriesOf, received, unqueuedDelivery, webhookWithReceiver } from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, create, data } from './support/routes.ts';

vi.setConfig({ testTimeout: 30_000 });

/** What a delivery from this service carries (deliveries/send.ts). */
const DELIVERY_HEADERS = { 'webhook-id': crypto.randomUUID(), 'webhook-signature': 'v1,c2lnbmF0dXJl' };

describe('a webhook pointed at the service itself', () => {
  it.each([
    ['the origin the request came in on', `${API_ORIGIN}/webhooks/x/deliveries/y/redeliver`],
    ['the same origin, its host in capitals', 'https://API.instaview.test/webhooks'],
    ['a workers.dev host', 'https://instaview-webhooks.acme.workers.dev/webhooks'],
    ['workers.dev itself, with a trailing dot', 'https://workers.dev./x'],
  ])('is refused at create: %s', async (_what, url) => {
    const account = await createTestAccount();
    const issues = await expectValidationIssues(
      await call('POST', '/webhooks', { token: account.token, body: { url, events: ['PING'] } }),
    );
    expect(issues).toEqual([{ path: 'url', message: expect.stringMatching(/this webhooks service itself/) }]);
  });

  it('is refused at PATCH, and the webhook is left as it was', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const before = await storedWebhook(webhook.id);
    const issues = await expectValidationIssues(
      await call('PATCH', `/webhooks/${webhook.id}`, {
        token: account.token,
        body: { url: `${API_ORIGIN}/webhooks/${webhook.id}/test` },
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['url']);
    expect((await storedWebhook(webhook.id))?.dump).toBe(before?.dump);
  });

  it('is refused for a configured public hostname, at any port; another port of the request host is allowed', async () => {
    const account = await createTestAccount();
    const request = (url: string) =>
      new Request(`${API_ORIGIN}/webhooks`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${account.token}`,
          'Content-Type': 'application/json',
          'CF-Connecting-IP': randomClientAddress(),
        },
        body: JSON.stringify({ url, events: ['PING'] }),
      });
    const configured = { SERVICE_HOSTNAMES: 'hooks.instaview.example, webhooks.instaview.example' };
    await expectError(
      await throughWorker(request('https://webhooks.instaview.example:8443/x'), configured),
      400,
      'VALIDATION_ERROR',
    );
    expect((await throughWorker(request('https://api.instaview.test:8443/x'), configured)).status).toBe(201);
  });

  it('a stored webhook whose host is the service is never sent to: a permanent failure, nothing received', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    // The receiver stands in for the service: its host is configured as one of the service's own.
    const overrides = { SERVICE_HOSTNAMES: new URL(endpoint.url).hostname };
    expect(await consumeOne('webhook-deliveries', { deliveryId, series: 1 }, { overrides })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    expect(await received(endpoint.id)).toEqual([]);
    const [delivery] = await deliveriesOf({ eventId });
    expect(delivery).toMatchObject({ webhook_id: webhook.id, status: 'failed', attempts: 1 });
    expect(delivery?.last_error).toMatch(/this webhooks service itself/);
  });

  it('a test sent to it is refused without a request', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const response = await throughWorker(
      new Request(`${API_ORIGIN}/webhooks/${webhook.id}/test`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${account.token}`, 'CF-Connecting-IP': randomClientAddress() },
      }),
      { SERVICE_HOSTNAMES: new URL(endpoint.url).hostname },
    );
    expect(await data<{ success: boolean; message: string }>(response)).toMatchObject({
      success: false,
      message: expect.stringMatching(/this webhooks service itself/),
    });
    expect(await received(endpoint.id)).toEqual([]);
  });
});

describe('a request carrying this service’s delivery headers', () => {
  it('is refused with DELIVERY_LOOP_REFUSED and changes nothing, whatever the route', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    const before = await storedWebhook(webhook.id);
    const token = account.token;
    const refused = [
      await call('PATCH', `/webhooks/${webhook.id}`, { token, body: { name: 'loop' }, headers: DELIVERY_HEADERS }),
      await call('POST', `/webhooks/${webhook.id}/deliveries/${deliveryId}/redeliver`, {
        token,
        headers: DELIVERY_HEADERS,
      }),
      await call('POST', `/webhooks/${webhook.id}/test`, { token, headers: DELIVERY_HEADERS }),
      await call('POST', '/webhooks', {
        token,
        body: { url: endpoint.url, events: ['PING'] },
        headers: DELIVERY_HEADERS,
      }),
      await call('POST', '/events', {
        token: env.EVENTS_PUBLISH_TOKEN,
        body: { accountId: account.accountId, type: 'PING', data: {} },
        headers: DELIVERY_HEADERS,
      }),
    ];
    for (const response of refused) await expectError(response, 400, 'DELIVERY_LOOP_REFUSED');
    expect((await storedWebhook(webhook.id))?.dump).toBe(before?.dump);
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([
      expect.objectContaining({ id: deliveryId, series: 1, attempts: 0 }),
    ]);
    expect(await received(endpoint.id)).toEqual([]);
  });

  it('one of the two alone is not a delivery: the request goes through', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const response = await call('PATCH', `/webhooks/${webhook.id}`, {
      token: account.token,
      body: { name: 'renamed' },
      headers: { 'webhook-id': 'not-a-delivery' },
    });
    expect(await data(response)).toMatchObject({ name: 'renamed' });
  });
});
