// A webhook's deliveries through the Worker entry: the test endpoint, the delivery log, redeliver and
// recover. Every response is checked against GET /openapi.json (support/routes.ts); who may call these
// routes (401, 403, 404) is covered with the other per-webhook routes in webhook-routes.test.ts.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, inject, it, vi } from 'vitest';
import { API_ORIGIN, expectError, expectValidationIssues, randomClientAddress, throughWorker } from './support/api.ts';
import { holdWebhookRow, withDatabase } from './support/database.ts';
import {
  attemptsRecorded,
  deliveriesOf,
  eventually,
  pause,
  publish,
  received,
  setTimeoutMs,
  unqueuedDelivery,
  webhookState,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';
import { call, data } from './support/routes.ts';
import { statementsOf } from './support/statements.ts';

// Tests that publish wait on queues, and on retries a second apart.
vi.setConfig({ testTimeout: 30_000 });

interface TestResult {
  success: boolean;
  deliveryId: string;
  httpStatus: number | null;
  durationMs: number;
  message: string;
}

interface Delivery {
  id: string;
  eventId: string;
  event: string;
  status: string;
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  isTest: boolean;
  createdAt: string;
}

interface DeliveryDetail extends Delivery {
  payload: Record<string, unknown>;
  attemptLog: { number: number; httpStatus: number | null; error: string | null; responseExcerpt: string | null }[];
}

interface Page {
  data: Delivery[];
  nextCursor: string | null;
}

const sendTest = (webhookId: string, token: string) => call('POST', `/webhooks/${webhookId}/test`, { token });

/**
 * Publishes and waits until the receiver has it and its attempt is recorded (a moment after the
 * receiver answers): deliveries are then created in publishing order, and show how their attempt ended.
 */
async function publishAndReceive(accountId: string, endpointId: string, count: number): Promise<string> {
  const eventId = await publish({ accountId });
  await eventually(async () => expect(await received(endpointId)).toHaveLength(count));
  await attemptsRecorded(eventId);
  return eventId;
}

describe('POST /webhooks/{id}/test', () => {
  it('sends a signed PING now and says what the endpoint answered; the log keeps it as a test', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const result = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(result).toEqual({
      success: true,
      deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      httpStatus: 200,
      durationMs: expect.any(Number),
      message: 'Delivered: the endpoint answered HTTP 200',
    });
    // Sent before the response: the receiver already has it, verified with the webhook's secret.
    const [delivery] = await received(endpoint.id);
    expect(delivery?.verifiedWith).toEqual([0]);
    expect(delivery?.headers['webhook-id']).toBe(result.deliveryId);
    const body = JSON.parse(delivery?.body ?? '{}') as Record<string, unknown>;
    expect(body).toEqual({
      event: 'PING',
      timestamp: expect.any(String),
      deliveryId: result.deliveryId,
      companyId: null,
      data: { message: 'A test delivery from InstaView' },
    });
    const logged = await data<DeliveryDetail>(
      await call('GET', `/webhooks/${webhook.id}/deliveries/${result.deliveryId}`, { token: account.token }),
    );
    expect(logged).toMatchObject({
      id: result.deliveryId,
      event: 'PING',
      status: 'succeeded',
      isTest: true,
      attempts: 1,
      lastHttpStatus: 200,
      payload: body,
      attemptLog: [{ number: 1, httpStatus: 200, error: null }],
    });
  });

  it('a failing endpoint is success: false with the reason; the circuit does not count it', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, {}, [{ status: 500, body: 'database is down' }]);
    const result = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(result).toMatchObject({ success: false, httpStatus: 500, message: 'HTTP 500 from the endpoint' });
    expect(await webhookState(webhook.id)).toMatchObject({ consecutive_failures: 0, circuit_opened_at: null });
    const logged = await data<DeliveryDetail>(
      await call('GET', `/webhooks/${webhook.id}/deliveries/${result.deliveryId}`, { token: account.token }),
    );
    expect(logged).toMatchObject({
      status: 'failed',
      lastError: 'HTTP 500 from the endpoint',
      attemptLog: [{ number: 1, httpStatus: 500, responseExcerpt: 'database is down' }],
    });
  });

  it.each([
    ['a timeout', [{ status: 200, delayMs: 3000 }], 'timed out after 300 ms', null],
    [
      'a redirect',
      [{ status: 302, headers: { Location: 'https://elsewhere.example/' } }],
      'redirect (HTTP 302) not followed',
      302,
    ],
  ])('says why for %s', async (_case, responses, message, httpStatus) => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, {}, responses);
    await setTimeoutMs(300, webhook.id);
    const result = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(result).toMatchObject({ success: false, httpStatus, message });
  });

  it('says so when nothing answers on the port', async () => {
    const account = await createTestAccount();
    // Port 1 (tcpmux): nothing listens there on any machine this runs on.
    const webhook = await data<{ id: string }>(
      await call('POST', '/webhooks', {
        token: account.token,
        body: { url: 'http://127.0.0.1:1/hooks', events: ['PING'] },
      }),
      201,
    );
    const result = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(result).toMatchObject({
      success: false,
      httpStatus: null,
      message: 'could not connect (refused, unreachable or reset)',
    });
  });

  it('answers what was sent though the webhook was deleted while the test was in flight', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200, delayMs: 1000 }]);
    const testing = sendTest(webhook.id, account.token);
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    expect((await call('DELETE', `/webhooks/${webhook.id}`, { token: account.token })).status).toBe(204);
    // Sent, so said so; its log went with the webhook.
    expect(await data<TestResult>(await testing)).toMatchObject({ success: true, httpStatus: 200 });
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([]);
  });

  it('goes through an open circuit, and leaves it as it was', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set consecutive_failures = 3, circuit_opened_at = now() where id = ${webhook.id}::uuid`,
      ),
    );
    const before = await webhookState(webhook.id);
    const result = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(result).toMatchObject({ success: true, httpStatus: 200 });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await webhookState(webhook.id)).toEqual(before);
  });

  it('never sends to loopback outside dev and tests: success: false, nothing received', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const response = await throughWorker(
      new Request(`${API_ORIGIN}/webhooks/${webhook.id}/test`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${account.token}`, 'CF-Connecting-IP': randomClientAddress() },
      }),
      { DELIVERY_ALLOW_PRIVATE_TARGETS: 'false' },
    );
    expect(await data<TestResult>(response)).toMatchObject({
      success: false,
      httpStatus: null,
      message: 'target not allowed: loopback addresses are never sent to',
    });
    expect(await received(endpoint.id)).toEqual([]);
  });

  it('422 PING_NOT_SUBSCRIBED for a webhook without PING, sending nothing', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, { events: ['INTERVIEW_COMPLETED'] });
    const body = await expectError(await sendTest(webhook.id, account.token), 422, 'PING_NOT_SUBSCRIBED');
    expect(body.error.details).toEqual({ events: ['INTERVIEW_COMPLETED'] });
    expect(await received(endpoint.id)).toEqual([]);
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([]);
  });
});

describe('GET /webhooks/{id}/deliveries', () => {
  it('lists newest first, filters by status and event, pages with an opaque cursor; one statement a page', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200 }]);
    const published: string[] = [];
    for (let i = 1; i <= 3; i++) published.push(await publishAndReceive(account.accountId, endpoint.id, i));
    const test = await data<TestResult>(await sendTest(webhook.id, account.token));

    const list = (query = '') => call('GET', `/webhooks/${webhook.id}/deliveries${query}`, { token: account.token });
    const response = await list();
    expect(await statementsOf(response)).toHaveLength(1);
    const all = await data<Page>(response);
    expect(all.nextCursor).toBeNull();
    expect(all.data.map((delivery) => delivery.eventId)).toEqual([
      `test:${test.deliveryId}`,
      ...published.toReversed(),
    ]);
    expect(all.data[1]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      eventId: published[2],
      event: 'INTERVIEW_COMPLETED',
      status: 'succeeded',
      attempts: 1,
      lastAttemptAt: expect.stringMatching(/Z$/),
      nextAttemptAt: null,
      lastHttpStatus: 200,
      lastError: null,
      isTest: false,
      createdAt: expect.stringMatching(/Z$/),
    });

    expect((await data<Page>(await list('?event=PING'))).data.map((d) => d.id)).toEqual([test.deliveryId]);
    expect((await data<Page>(await list('?status=succeeded'))).data).toHaveLength(4);
    expect((await data<Page>(await list('?status=failed'))).data).toEqual([]);

    const paged: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: Page = await data<Page>(
        await list(`?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
      );
      expect(page.data.length).toBeLessThanOrEqual(1);
      paged.push(...page.data.map((delivery) => delivery.id));
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(all.data.map((delivery) => delivery.id));
  });

  it.each([
    ['limit=0', 'query.limit'],
    ['limit=101', 'query.limit'],
    ['limit=ten', 'query.limit'],
    ['status=lost', 'query.status'],
    ['event=NOPE', 'query.event'],
    ['cursor=not-ours', 'query.cursor'],
    ['since=yesterday', 'query.since'],
  ])('refuses %s with 400 at %s', async (query, path) => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const issues = await expectValidationIssues(
      await call('GET', `/webhooks/${webhook.id}/deliveries?${query}`, { token: account.token }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('pages 50 at a time when no limit is given', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    for (let count = 0; count < 51; count++) await unqueuedDelivery(account.accountId);
    const page = await data<Page>(await call('GET', `/webhooks/${webhook.id}/deliveries`, { token: account.token }));
    expect(page.data).toHaveLength(50);
    expect(page.nextCursor).not.toBeNull();
  });

  it('refuses a cursor issued to another key, for another webhook or for other filters', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const { webhook: sibling } = await webhookWithReceiver(account.token);
    for (let i = 0; i < 2; i++) await data<TestResult>(await sendTest(webhook.id, account.token));
    const { nextCursor } = await data<Page>(
      await call('GET', `/webhooks/${webhook.id}/deliveries?limit=1`, { token: account.token }),
    );
    const cursor = encodeURIComponent(`${nextCursor}`);
    const other = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    for (const [token, path] of [
      [other.token, `/webhooks/${webhook.id}/deliveries?limit=1&cursor=${cursor}`],
      [account.token, `/webhooks/${sibling.id}/deliveries?limit=1&cursor=${cursor}`],
      [account.token, `/webhooks/${webhook.id}/deliveries?limit=1&status=succeeded&cursor=${cursor}`],
    ] as const) {
      await expectError(await call('GET', path, { token }), 400, 'VALIDATION_ERROR');
    }
  });
});

describe('GET /webhooks/{id}/deliveries/{deliveryId}', () => {
  it('returns the payload as it was sent and every attempt; one statement', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 503, body: 'x'.repeat(5000) },
      { status: 204 },
    ]);
    const eventId = await publish({ accountId: account.accountId, data: { interviewId: 'i-1' } });
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded' })]),
    );
    const [first, second] = await received(endpoint.id);
    const deliveryId = `${first?.headers['webhook-id']}`;
    const response = await call('GET', `/webhooks/${webhook.id}/deliveries/${deliveryId.toUpperCase()}`, {
      token: account.token,
    });
    expect(await statementsOf(response)).toHaveLength(1);
    const detail = await data<DeliveryDetail>(response);
    expect(detail.payload).toEqual(JSON.parse(`${second?.body}`));
    expect(detail).toMatchObject({ id: deliveryId, eventId, status: 'succeeded', attempts: 2, lastHttpStatus: 204 });
    expect(detail.attemptLog).toEqual([
      expect.objectContaining({ number: 1, httpStatus: 503, error: 'HTTP 503 from the endpoint' }),
      expect.objectContaining({ number: 2, httpStatus: 204, error: null, responseExcerpt: null }),
    ]);
    // The response body is kept to its first kilobyte.
    expect(detail.attemptLog[0]?.responseExcerpt).toBe('x'.repeat(1024));
  });

  it('404 Delivery not found for a malformed id, a missing one, or one of the account’s other webhooks', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const { webhook: sibling } = await webhookWithReceiver(account.token);
    const { deliveryId } = await data<TestResult>(await sendTest(sibling.id, account.token));
    for (const id of ['nope', crypto.randomUUID(), deliveryId]) {
      for (const suffix of ['', '/redeliver']) {
        const method = suffix ? 'POST' : 'GET';
        const body = await expectError(
          await call(method, `/webhooks/${webhook.id}/deliveries/${id}${suffix}`, { token: account.token }),
          404,
          'RESOURCE_NOT_FOUND',
        );
        expect(body.error).toMatchObject({
          message: 'Delivery not found',
          details: { resourceType: 'Delivery', resourceId: id },
        });
      }
    }
  });
});

describe('POST /webhooks/{id}/deliveries/{deliveryId}/redeliver', () => {
  it('sends a delivery again with the same webhook-id, as a new series; the log keeps every attempt', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const eventId = await publishAndReceive(account.accountId, endpoint.id, 1);
    const [delivery] = await deliveriesOf({ eventId });
    const response = await call('POST', `/webhooks/${webhook.id}/deliveries/${delivery?.id}/redeliver`, {
      token: account.token,
    });
    expect(await data(response, 202)).toEqual({ deliveryId: delivery?.id, status: 'pending' });
    const [first, again] = await eventually(async () => {
      const got = await received(endpoint.id);
      expect(got).toHaveLength(2);
      return got;
    });
    expect(again?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(again?.body).toBe(first?.body);
    expect(again?.verifiedWith).toEqual([0]);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 2, series: 2 }),
      ]),
    );
  });
});

describe('POST /webhooks/{id}/recover', () => {
  it('sends again every failed and skipped delivery since a time, and says how many', async () => {
    const account = await createTestAccount();
    // Fails twice, then answers 200 from then on.
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 500 },
      { status: 500 },
      { status: 200 },
    ]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    const before = new Date(Date.now() - 1000).toISOString();
    const events = [
      await publishAndReceive(account.accountId, endpoint.id, 1),
      await publishAndReceive(account.accountId, endpoint.id, 2),
    ];
    await eventually(async () => {
      for (const eventId of events) {
        expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'failed' })]);
      }
    });
    const recover = (body: unknown) => call('POST', `/webhooks/${webhook.id}/recover`, { token: account.token, body });
    expect(await data(await recover({ since: new Date(Date.now() + 60_000).toISOString() }), 202)).toEqual({
      count: 0,
      nextCursor: null,
    });
    expect(await data(await recover({ since: before, statuses: ['skipped'] }), 202)).toEqual({
      count: 0,
      nextCursor: null,
    });
    expect(await data(await recover({ since: before }), 202)).toEqual({ count: 2, nextCursor: null });
    await eventually(async () => {
      for (const eventId of events) {
        expect(await deliveriesOf({ eventId })).toEqual([
          expect.objectContaining({ status: 'succeeded', series: 2, attempts: 2 }),
        ]);
      }
    });
    expect(await received(endpoint.id)).toHaveLength(4);
  });

  it.each([
    [{}, ['since']],
    [{ since: 'yesterday' }, ['since']],
    [{ since: '2026-01-01T00:00:00Z', statuses: [] }, ['statuses']],
    [{ since: '2026-01-01T00:00:00Z', statuses: ['succeeded'] }, ['statuses.0']],
    [{ since: '2026-01-01T00:00:00Z', extra: true }, ['extra']],
    [{ since: '0000-01-01T00:00:00+00:30' }, ['since']],
  ])('refuses %j with 400 naming each field', async (body, paths) => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const issues = await expectValidationIssues(
      await call('POST', `/webhooks/${webhook.id}/recover`, { token: account.token, body }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(paths);
  });
});

/** POST /webhooks/{id}/recover for the last hour: what it answers. */
async function recoverLastHour(
  webhookId: string,
  token: string,
): Promise<{ count: number; nextCursor: string | null }> {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  return data(await call('POST', `/webhooks/${webhookId}/recover`, { token, body: { since } }), 202);
}

describe('POST /webhooks/{id}/recover, when things go wrong', () => {
  async function failedDeliveries(count: number) {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      ...Array.from({ length: count }, () => ({ status: 500 })),
      { status: 200 },
    ]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    const events: string[] = [];
    for (let i = 1; i <= count; i++) events.push(await publishAndReceive(account.accountId, endpoint.id, i));
    await eventually(async () => {
      for (const eventId of events) {
        expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'failed' })]);
      }
    });
    return { account, webhook, endpoint, events };
  }
  const recoverRequest = (webhookId: string, token: string) =>
    new Request(`${API_ORIGIN}/webhooks/${webhookId}/recover`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'CF-Connecting-IP': randomClientAddress(),
      },
      body: JSON.stringify({ since: new Date(Date.now() - 3_600_000).toISOString() }),
    });

  it('a queue that refuses the messages: 503, and the same call again sends them', async () => {
    const { account, webhook, endpoint, events } = await failedDeliveries(2);
    // A mock: Miniflare's queue cannot be made to fail on demand; this one refuses as a full queue would.
    const refusing = {
      send: () => Promise.reject(new Error('Too Many Requests')),
      sendBatch: () => Promise.reject(new Error('Too Many Requests')),
    } as unknown as Queue;
    await expectError(
      await throughWorker(recoverRequest(webhook.id, account.token), { WEBHOOK_DELIVERIES: refusing }),
      503,
      'SERVICE_UNAVAILABLE',
    );
    expect(await recoverLastHour(webhook.id, account.token)).toEqual({ count: 2, nextCursor: null });
    await eventually(async () => {
      for (const eventId of events) {
        expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      }
    });
    expect(await received(endpoint.id)).toHaveLength(4);
  });

  it('never takes a delivery that succeeded while the recover waited for its webhook', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    // Pending, its message never marked queued: what recover takes, as it reads the deliveries.
    const { eventId } = await unqueuedDelivery(account.accountId);
    const holding = holdWebhookRow(webhook.id, 1.5);
    await pause(300);
    const recovering = throughWorker(recoverRequest(webhook.id, account.token));
    await pause(300);
    // Meanwhile the delivery succeeds (its attempt's record, as far as recover can tell).
    await withDatabase((db) => db.execute(sql`update deliveries set status = 'succeeded' where event_id = ${eventId}`));
    const [recovered] = await Promise.all([recovering, holding]);
    expect(recovered.status).toBe(202);
    await pause(1500);
    expect(await received(endpoint.id)).toEqual([]);
    // PGlite runs one transaction at a time and may run the recover first: then it restarted a delivery
    // that was pending, and the update marked the new series succeeded. Either way nothing is sent.
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({ status: 'succeeded', ...(inject('databaseKind') === 'postgres' ? { series: 1 } : {}) }),
    ]);
  });

  it('leaves test deliveries alone: they are sent again only by id', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    const test = await data<TestResult>(await sendTest(webhook.id, account.token));
    expect(test.success).toBe(false);
    expect(await recoverLastHour(webhook.id, account.token)).toEqual({ count: 0, nextCursor: null });
  });
});

describe('the delivery queue, at least once', () => {
  it('a duplicate message for a delivery that already succeeded sends nothing', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const eventId = await publishAndReceive(account.accountId, endpoint.id, 1);
    const [delivery] = await deliveriesOf({ eventId });
    await env.WEBHOOK_DELIVERIES.send({ deliveryId: delivery?.id, series: 1 });
    await env.WEBHOOK_DELIVERIES.send({ deliveryId: crypto.randomUUID(), series: 1 });
    await pause(2500);
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
  });
});
