// Publishing and delivering events, end to end through workerd and Miniflare's queues, to a real receiver
// (scripts/local/webhook-receiver.ts) that verifies every delivery with the standardwebhooks library.
// Test configuration (vitest.config.ts): retries 1 s apart, circuit threshold 3, cool-down 60 s (the tests
// end it by backdating the circuit's opening rather than waiting).
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { revokeApiKey } from '../src/admin/api-keys.ts';
import { expectError, expectValidationIssues, throughWorker, webhookRequest } from './support/api.ts';
import { holdRowLock, withDatabase } from './support/database.ts';
import {
  attemptsRecorded,
  backdateCircuit,
  deactivate,
  deliveriesOf,
  eventually,
  pause,
  publish,
  publishRequest,
  received,
  receiverEndpoint,
  setReceiverSecrets,
  setTimeoutMs,
  unqueuedDelivery,
  webhookState,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';
import { statementsNamed, statementsNaming, statementsOf } from './support/statements.ts';

// Each test waits on queues, and on retries a second apart.
vi.setConfig({ testTimeout: 30_000 });

/** Long enough for a retry (a second apart in tests) to have come, had there been one. */
const settle = (ms = 2500) => pause(ms);

/** An object whose data nests `depth` arrays deep inside it. */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 'deep';
  for (let level = 0; level < depth; level++) value = [value];
  return { value };
}

async function receivedCount(endpointId: string, count: number) {
  return eventually(async () => {
    const got = await received(endpointId);
    expect(got).toHaveLength(count);
    return got;
  });
}

describe('POST /events', () => {
  it('queues the event and answers 202 with its id; the same id again delivers nothing new', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const eventId = await publish({ id: 'evt-1', accountId: account.accountId, data: { candidateId: 'c-42' } });
    expect(eventId).toBe('evt-1');
    const [delivery] = await receivedCount(endpoint.id, 1);
    expect(await publish({ id: 'evt-1', accountId: account.accountId })).toBe('evt-1');
    await settle();
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([
      expect.objectContaining({ id: delivery?.headers['webhook-id'], status: 'succeeded', attempts: 1 }),
    ]);
  });

  it('takes data nested 64 levels deep, and times at the edges of years 1 and 9999', async () => {
    const account = await createTestAccount();
    for (const event of [
      { data: nested(63) },
      { occurredAt: '0001-01-01T00:00:00Z' },
      { occurredAt: '9999-12-31T23:59:59Z' },
    ]) {
      expect(await publish({ accountId: account.accountId, ...event })).toEqual(expect.any(String));
    }
  });

  it('mints an id, and dates the event now, when the producer sends neither', async () => {
    const account = await createTestAccount();
    const before = Date.now();
    const first = await publish({ accountId: account.accountId });
    const after = Date.now();
    const second = await publish({ accountId: account.accountId });
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).not.toBe(first);
    const occurredAt = await eventually(async () => {
      const stored = await withDatabase((db) =>
        db.execute<{ ms: string }>(
          sql`select (extract(epoch from occurred_at) * 1000)::bigint::text as ms from events where id = ${first}`,
        ),
      );
      expect(stored.rows).toHaveLength(1);
      return Number(stored.rows[0]?.ms);
    });
    expect(occurredAt).toBeGreaterThanOrEqual(before - 1);
    expect(occurredAt).toBeLessThanOrEqual(after + 1);
  });

  it('takes only the operator token (any of several, for rotation), never a customer key', async () => {
    const account = await createTestAccount();
    const request = (token: string) => publishRequest({ accountId: account.accountId }, token);
    const missing = await throughWorker(new Request(request('x'), { headers: { 'Content-Type': 'application/json' } }));
    await expectError(missing, 401, 'UNAUTHORIZED');
    await expectError(await throughWorker(request(account.token)), 401, 'UNAUTHORIZED');
    await expectError(await throughWorker(request(`${env.EVENTS_PUBLISH_TOKEN}x`)), 401, 'UNAUTHORIZED');
    const rotating = { EVENTS_PUBLISH_TOKEN: `new-token, ${env.EVENTS_PUBLISH_TOKEN}` };
    expect((await throughWorker(request('new-token'), rotating)).status).toBe(202);
    expect((await throughWorker(request(env.EVENTS_PUBLISH_TOKEN), rotating)).status).toBe(202);
  });

  it.each([
    ['an unknown type', { type: 'NOPE' }, ['type']],
    ['an array as data', { data: [1, 2] }, ['data']],
    ['a string as data', { data: 'text' }, ['data']],
    ['data over 64 KiB', { data: { big: 'x'.repeat(64 * 1024) } }, ['data']],
    ['an empty id', { id: '' }, ['id']],
    ['a non-ASCII id', { id: 'é' }, ['id']],
    ['a 256-character id', { id: 'x'.repeat(256) }, ['id']],
    ['a date that is not ISO 8601', { occurredAt: 'yesterday' }, ['occurredAt']],
    ['an accountId that is not a UUID', { accountId: 'nope' }, ['accountId']],
    ['a companyId that is not a UUID', { companyId: 'nope' }, ['companyId']],
    ['an unknown field', { extra: 1 }, ['extra']],
    ['year 0 (Postgres has none)', { occurredAt: '0000-01-01T00:00:00Z' }, ['occurredAt']],
    ['a time that is year -1 in UTC', { occurredAt: '0000-01-01T00:00:00+00:30' }, ['occurredAt']],
    ['a time that is year 10000 in UTC', { occurredAt: '9999-12-31T23:59:59-23:59' }, ['occurredAt']],
    ['data nested 65 levels deep', { data: nested(64) }, ['data']],
    ['data nested 40,000 levels deep', { data: nested(40_000) }, ['data']],
  ])('refuses %s with 400 naming each field', async (_, override, paths) => {
    const account = await createTestAccount();
    const issues = await expectValidationIssues(
      await throughWorker(publishRequest({ accountId: account.accountId, ...override })),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(paths);
  });
});

describe('who receives an event (fan-out)', () => {
  it('a webhook deleted while the event is published is left out: 202, the others receive it', async () => {
    const account = await createTestAccount();
    const kept = await webhookWithReceiver(account.token);
    const deleted = await webhookWithReceiver(account.token);
    // Another transaction deletes one webhook and commits 1.5 s later; the publish runs meanwhile (on
    // Postgres: PGlite runs one transaction at a time, so there the delete has committed first).
    const deleting = holdRowLock(sql`delete from webhooks where id = ${deleted.webhook.id}::uuid`, 1.5);
    await pause(300);
    const response = await throughWorker(publishRequest({ accountId: account.accountId }));
    expect(response.status).toBe(202);
    await deleting;
    const { eventId } = ((await response.json()) as { data: { eventId: string } }).data;
    expect((await deliveriesOf({ eventId })).map((delivery) => delivery.webhook_id)).toEqual([kept.webhook.id]);
    await eventually(async () => expect(await received(kept.endpoint.id)).toHaveLength(1));
  });

  it('matches company, account-wide, restricted creator, inactive, unsubscribed and other account', async () => {
    const account = await createTestAccount();
    const companyA = account.companyId;
    const companyB = await createTestCompany(account.accountId);
    const limitedToA = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks', 'read:webhooks'],
      companyIds: [companyA],
    });
    const stranger = await createTestAccount();
    const hooks = {
      forA: await webhookWithReceiver(account.token, { companyId: companyA }),
      forB: await webhookWithReceiver(account.token, { companyId: companyB }),
      wideByFullKey: await webhookWithReceiver(account.token),
      wideByLimitedKey: await webhookWithReceiver(limitedToA.token),
      inactive: await webhookWithReceiver(account.token),
      unsubscribed: await webhookWithReceiver(account.token, { events: ['ANALYSIS_FAILED'] }),
      otherAccount: await webhookWithReceiver(stranger.token),
    };
    await throughWorker(
      webhookRequest(
        { isActive: false },
        { token: account.token, method: 'PATCH', path: `/webhooks/${hooks.inactive.webhook.id}` },
      ),
    );
    // Revoking the creating key later does not silence its webhooks.
    await withDatabase((db) => revokeApiKey(db, limitedToA.id));

    const receivers = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(hooks).map(async ([name, hook]) => [name, (await received(hook.endpoint.id)).length] as const),
        ),
      );
    const deliver = async (companyId: string | null, expected: Record<string, number>) => {
      await publish({ accountId: account.accountId, companyId });
      await eventually(async () => expect(await receivers()).toEqual(expected));
    };
    const none = Object.fromEntries(Object.keys(hooks).map((name) => [name, 0]));
    await deliver(companyA, { ...none, forA: 1, wideByFullKey: 1, wideByLimitedKey: 1 });
    await deliver(companyB, { ...none, forA: 1, forB: 1, wideByFullKey: 2, wideByLimitedKey: 1 });
    // Least privilege: a key limited to some companies never sees an event without one, nor does its webhook.
    await deliver(null, { ...none, forA: 1, forB: 1, wideByFullKey: 3, wideByLimitedKey: 1 });
    // Another account's company reaches nobody.
    await publish({ accountId: account.accountId, companyId: stranger.companyId });
    await settle();
    expect(await receivers()).toEqual({ ...none, forA: 1, forB: 1, wideByFullKey: 3, wideByLimitedKey: 1 });
  }, 60_000);

  it('stores the event and fans it out in one statement before the 202 (and one to mark the messages enqueued)', async () => {
    const account = await createTestAccount();
    const hooks = await Promise.all(Array.from({ length: 5 }, () => webhookWithReceiver(account.token)));
    const response = await throughWorker(publishRequest({ accountId: account.accountId }));
    expect(response.status).toBe(202);
    const { eventId } = ((await response.json()) as { data: { eventId: string } }).data;
    // The publish: the one statement that stores it and creates its deliveries, so the 202 means they
    // are in Postgres; their messages go on the queue after the response (one statement marks them).
    const publishing = await statementsOf(response);
    expect(publishing).toHaveLength(1);
    expect(publishing[0]).toContain('insert into "events"');
    expect(publishing[0]).toContain('insert into "deliveries"');
    await eventually(async () => {
      for (const hook of hooks) expect(await received(hook.endpoint.id)).toHaveLength(1);
    });
    // The records land a moment after the receivers answered, and the messages are marked enqueued after
    // they were sent, beside the deliveries: both may follow the receivers' requests.
    await attemptsRecorded(eventId);
    const statements = await eventually(async () => {
      const named = await statementsNamed(`webhooks fan-out ${account.accountId}:${eventId}`);
      expect(named).toHaveLength(1);
      return named;
    });
    expect(statements[0]).toContain('enqueued_at');
    // Each attempt: a claim and a record, both shared with the lanes ready at the same moment (one
    // statement serves a group): two statements per attempt at most, fewer when they group.
    const delivered = await deliveriesOf({ eventId });
    expect(delivered).toHaveLength(5);
    const perAttempt = await statementsNaming(delivered.map((delivery) => delivery.id));
    expect(perAttempt.length).toBeLessThanOrEqual(2 * delivered.length);
    expect(perAttempt.filter((statement) => statement.includes('ord int)')).length).toBeGreaterThanOrEqual(1);
    expect(
      perAttempt.filter((statement) => statement.includes('insert into "delivery_attempts"')).length,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('the request a receiver gets', () => {
  it('is signed to the Standard Webhooks spec, with the custom headers, the payload and a stable webhook-id', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {
      headers: [
        { name: 'Authorization', value: 'Bearer partner-token' },
        { name: 'X-Tenant', value: 'acme é' },
      ],
    });
    const occurredAt = '2026-11-01T10:00:00.000Z';
    await publish({
      id: 'sig-1',
      accountId: account.accountId,
      companyId: null,
      occurredAt,
      data: { interviewId: 'i-9', score: 0.82, nested: { ok: true } },
    });
    const [delivery] = await receivedCount(endpoint.id, 1);
    if (!delivery) throw new Error('no delivery');
    expect(delivery.verifiedWith).toEqual([0]);
    expect(delivery.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^InstaView-Webhooks\//),
      authorization: 'Bearer partner-token',
      'webhook-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'webhook-timestamp': expect.stringMatching(/^\d+$/),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/=]+$/),
    });
    // Signed at send time, not when the event occurred.
    expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    // The receiver reads header bytes as Latin-1; on the wire, workerd sent the value's UTF-8 bytes.
    expect(Buffer.from(delivery.headers['x-tenant'] ?? '', 'latin1').toString('utf8')).toBe('acme é');
    expect(JSON.parse(delivery.body)).toEqual({
      event: 'INTERVIEW_COMPLETED',
      timestamp: occurredAt,
      deliveryId: delivery.headers['webhook-id'],
      companyId: null,
      data: { interviewId: 'i-9', score: 0.82, nested: { ok: true } },
    });
    // Recorded once the receiver has answered, so perhaps a moment after it has the request.
    await eventually(async () =>
      expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([
        expect.objectContaining({ id: delivery.headers['webhook-id'], status: 'succeeded' }),
      ]),
    );
  });

  it('verifies with a large payload of multi-byte characters, however the receiver reads it in', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    await publish({ accountId: account.accountId, data: { note: 'é€𝄞'.repeat(4000) } });
    const [delivery] = await receivedCount(endpoint.id, 1);
    expect(delivery?.verifiedWith).toEqual([0]);
    expect((JSON.parse(delivery?.body ?? '{}') as { data: { note: string } }).data.note).toBe('é€𝄞'.repeat(4000));
  });

  it('carries both signatures while a rotated secret’s grace period lasts; each verifies alone', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const rotated = (await (
      await throughWorker(
        webhookRequest(
          { gracePeriodSeconds: 600 },
          {
            token: account.token,
            path: `/webhooks/${webhook.id}/rotate-secret`,
          },
        ),
      )
    ).json()) as { data: { signingSecret: string } };
    await setReceiverSecrets(endpoint.id, [rotated.data.signingSecret, webhook.signingSecret]);
    await publish({ accountId: account.accountId });
    const [delivery] = await receivedCount(endpoint.id, 1);
    expect(delivery?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(delivery?.verifiedWith).toEqual([0, 1]);
  });

  it('carries only the new signature once the grace period is over', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const rotated = await throughWorker(
      webhookRequest(
        { gracePeriodSeconds: 0 },
        { token: account.token, path: `/webhooks/${webhook.id}/rotate-secret` },
      ),
    );
    const { data } = (await rotated.json()) as { data: { signingSecret: string } };
    // The receiver would accept the old secret too: only the header can tell which were used.
    await setReceiverSecrets(endpoint.id, [data.signingSecret, webhook.signingSecret]);
    await publish({ accountId: account.accountId });
    const [delivery] = await receivedCount(endpoint.id, 1);
    expect(delivery?.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(delivery?.verifiedWith).toEqual([0]);
  });
});

describe('retries', () => {
  it('retries a failing endpoint on the schedule and succeeds; the log keeps every attempt', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 500, body: 'boom' },
      { status: 503 },
      { status: 200 },
    ]);
    const eventId = await publish({ accountId: account.accountId });
    const got = await receivedCount(endpoint.id, 3);
    // The same delivery id on every attempt: the receiver's idempotency key.
    expect(new Set(got.map((delivery) => delivery.headers['webhook-id'])).size).toBe(1);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 3, last_http_status: 200 }),
      ]),
    );
    expect(await webhookState(webhook.id)).toMatchObject({ consecutive_failures: 0 });
  });

  it('gives up after maxRetries: one attempt and maxRetries retries, then failed', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    // Two retries: under the circuit's threshold in tests (3), which would otherwise skip a fourth attempt.
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 2 where id = ${webhook.id}::uuid`));
    const eventId = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 3);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([
        expect.objectContaining({ status: 'failed', attempts: 3, last_error: 'HTTP 500 from the endpoint' }),
      ]),
    );
    await settle(2000);
    expect(await received(endpoint.id)).toHaveLength(3);
  });

  it('stops at 410 Gone, deactivates the webhook and cancels what it had pending', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 410 }]);
    // A delivery of the webhook still pending when the 410 comes (its message not on the queue, so the
    // 410 of the next one is what settles it).
    const waiting = await unqueuedDelivery(account.accountId);
    const eventId = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 1);
    await eventually(async () => expect(await webhookState(webhook.id)).toMatchObject({ is_active: false }));
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'failed', attempts: 1 })]);
    expect(await deliveriesOf({ eventId: waiting.eventId })).toEqual([
      expect.objectContaining({ status: 'cancelled', attempts: 0 }),
    ]);
    await publish({ accountId: account.accountId });
    await settle();
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('does not follow a redirect: a 3xx is a failure, and Location is never fetched', async () => {
    const account = await createTestAccount();
    const elsewhere = await receiverEndpoint();
    const { endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 302, headers: { Location: elsewhere.url } },
      { status: 200 },
    ]);
    const eventId = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 2);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 2 })]),
    );
    expect(await received(elsewhere.id)).toEqual([]);
  });

  it('times out after the webhook’s timeoutMs', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 200, delayMs: 3000 },
      { status: 200 },
    ]);
    await setTimeoutMs(300, webhook.id);
    const eventId = await publish({ accountId: account.accountId });
    await eventually(async () => {
      const [delivery] = await deliveriesOf({ eventId });
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2 });
    });
    const attempts = await withDatabase((db) =>
      db.execute<{ error: string | null }>(
        sql`select error from delivery_attempts a join deliveries d on d.id = a.delivery_id where d.event_id = ${eventId} order by number`,
      ),
    );
    expect(attempts.rows.map((row) => row.error)).toEqual(['timed out after 300 ms', null]);
    expect(await received(endpoint.id)).toHaveLength(2);
  });
});

describe('the circuit breaker', () => {
  it('opens after the threshold, skips while open, lets one probe through after the cool-down, closes on success', async () => {
    const account = await createTestAccount();
    // Fails three attempts (the threshold in tests), then succeeds.
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 500 },
      { status: 500 },
      { status: 500 },
      { status: 200 },
    ]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    for (let i = 0; i < 3; i++) {
      await publish({ accountId: account.accountId });
      await receivedCount(endpoint.id, i + 1);
    }
    await eventually(async () =>
      expect(await webhookState(webhook.id)).toMatchObject({
        consecutive_failures: 3,
        circuit_opened_at: expect.any(String),
      }),
    );
    // While open: recorded as skipped, not sent.
    const skipped = await publish({ accountId: account.accountId });
    await eventually(async () =>
      expect(await deliveriesOf({ eventId: skipped })).toEqual([expect.objectContaining({ status: 'skipped' })]),
    );
    expect(await received(endpoint.id)).toHaveLength(3);
    // After the cool-down the next delivery is the probe; it succeeds and closes the circuit.
    await backdateCircuit(webhook.id);
    const probe = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 4);
    await eventually(async () => {
      expect(await deliveriesOf({ eventId: probe })).toEqual([expect.objectContaining({ status: 'succeeded' })]);
      expect(await webhookState(webhook.id)).toMatchObject({ consecutive_failures: 0, circuit_opened_at: null });
    });
  });

  it('a failed probe reopens it for another cool-down; reset-circuit closes it at once', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set max_retries = 0, consecutive_failures = 3, circuit_opened_at = now() - interval '1 hour'
          where id = ${webhook.id}::uuid`,
      ),
    );
    const probe = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 1);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId: probe })).toEqual([expect.objectContaining({ status: 'failed' })]),
    );
    const reopened = await webhookState(webhook.id);
    expect(Date.parse(`${reopened?.circuit_opened_at}`)).toBeGreaterThan(Date.now() - 60_000);
    const skipped = await publish({ accountId: account.accountId });
    await eventually(async () =>
      expect(await deliveriesOf({ eventId: skipped })).toEqual([expect.objectContaining({ status: 'skipped' })]),
    );
    await throughWorker(
      webhookRequest(undefined, { token: account.token, path: `/webhooks/${webhook.id}/reset-circuit`, rawBody: null }),
    );
    const afterReset = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 2);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId: afterReset })).toEqual([expect.objectContaining({ status: 'failed' })]),
    );
  });
});

describe('never twice on purpose', () => {
  it('deleting a webhook drops its pending deliveries: their retries send nothing', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 1);
    await throughWorker(
      webhookRequest(undefined, { token: account.token, method: 'DELETE', path: `/webhooks/${webhook.id}` }),
    );
    await settle(3000);
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([]);
  });

  it('deactivating a webhook cancels its pending deliveries', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    const eventId = await publish({ accountId: account.accountId });
    await receivedCount(endpoint.id, 1);
    await deactivate(account.token, webhook.id);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'cancelled' })]);
    await settle(3000);
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});
