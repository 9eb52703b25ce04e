// Telling people their webhook is failing (issue 17): the stats route, the resource's health, the
// state-change events (one per change, never to the webhook they are about), auto-disable and its
// reasons, re-enabling, and the operations endpoint. End to end through the Worker, its queues and the
// test receiver. Test configuration (vitest.config.ts): retries 1 s apart, circuit threshold 3,
// cool-down 60 s; the auto-disable time is the default 5 days, reached by backdating failing_since.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { STATE_CHANGE_EVENTS } from '../src/events/event-types.ts';
import worker from '../src/index.ts';
import { PURGE_CRON, SWEEP_CRON } from '../src/jobs/scheduled.ts';
import { expectError, expectValidationIssues, throughWorker, webhookRequest } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import {
  attemptsRecorded,
  backdateCircuit,
  consumeOne,
  deactivate,
  deliveriesOf,
  eventually,
  pause,
  publish,
  publishRequest,
  received,
  receiverEndpoint,
  unqueuedDelivery,
  webhookState,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';
import { keyLookups, statementsNamed, statementsOf } from './support/statements.ts';

vi.setConfig({ testTimeout: 30_000 });

type Stats = {
  window: string;
  from: string;
  to: string;
  deliveries: Record<string, number>;
  attempts: number;
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  failingSince: string | null;
  circuit: { state: string; nextProbeAt: string | null };
  series: { start: string; attempts: number; succeeded: number; failed: number }[];
};

function getStats(token: string, id: string, query = ''): Promise<Response> {
  return throughWorker(webhookRequest(undefined, { token, method: 'GET', path: `/webhooks/${id}/stats${query}` }));
}

async function statsOf(token: string, id: string, query = ''): Promise<Stats> {
  const response = await getStats(token, id, query);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Stats }).data;
}

async function resource(token: string, id: string) {
  const response = await throughWorker(webhookRequest(undefined, { token, method: 'GET', path: `/webhooks/${id}` }));
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Record<string, unknown> & { health: Record<string, unknown> } }).data;
}

function patch(token: string, id: string, body: unknown): Promise<Response> {
  return throughWorker(webhookRequest(body, { token, method: 'PATCH', path: `/webhooks/${id}` }));
}

type StoredStateEvent = { type: string; company_id: string | null; data: Record<string, unknown> };

/** The state-change events stored about a webhook, oldest first. */
async function eventsAbout(webhookId: string): Promise<StoredStateEvent[]> {
  return withDatabase(async (db) => {
    const result = await db.execute<{ type: string; company_id: string | null; data: string }>(sql`
      select type::text, company_id::text, data from events where subject_webhook_id = ${webhookId}::uuid
      order by created_at, type`);
    return result.rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
  });
}

/** A webhook whose every attempt fails (HTTP 500), sent once (no retries). */
async function failingWebhook(token: string, overrides: Record<string, unknown> = {}) {
  const hook = await webhookWithReceiver(token, overrides, [{ status: 500 }]);
  await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${hook.webhook.id}::uuid`));
  return hook;
}

/**
 * Publishes `count` events one after the other, each once the receiver has it and its attempt is
 * recorded (so attempts do not race: a probe's record closes the circuit the next claim reads).
 */
async function publishAndReceive(accountId: string, endpointId: string, count: number) {
  const before = (await received(endpointId)).length;
  for (let index = 1; index <= count; index++) {
    const eventId = await publish({ accountId });
    await eventually(async () => expect(await received(endpointId)).toHaveLength(before + index));
    await attemptsRecorded(eventId);
  }
}

describe('GET /webhooks/{id}/stats', () => {
  it('answers a new webhook with empty counts: 24 hourly buckets by default, the circuit closed', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const stats = await statsOf(account.token, webhook.id);
    expect(stats).toMatchObject({
      window: '24h',
      deliveries: { succeeded: 0, failed: 0, pending: 0, skipped: 0 },
      attempts: 0,
      successRate: null,
      latencyMs: { p50: null, p95: null },
      lastSuccessAt: null,
      failingSince: null,
      circuit: { state: 'closed', nextProbeAt: null },
    });
    expect(stats.series).toHaveLength(24);
    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBeGreaterThanOrEqual(23 * 3600_000);
  });

  it('counts deliveries by status and attempts from the rollup, in one statement', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 200 },
      { status: 500 },
      { status: 500 },
    ]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    await publishAndReceive(account.accountId, endpoint.id, 3);
    await eventually(async () =>
      expect((await deliveriesOf({ webhookId: webhook.id })).map((delivery) => delivery.status).sort()).toEqual([
        'failed',
        'failed',
        'succeeded',
      ]),
    );
    const response = await getStats(account.token, webhook.id, '?window=1h');
    expect(response.status).toBe(200);
    const stats = ((await response.json()) as { data: Stats }).data;
    expect(stats).toMatchObject({
      window: '1h',
      deliveries: { succeeded: 1, failed: 2, pending: 0, skipped: 0 },
      attempts: 3,
      successRate: 1 / 3,
      lastSuccessAt: expect.any(String),
      lastFailureAt: expect.any(String),
      failingSince: expect.any(String),
    });
    expect(stats.latencyMs.p50).toEqual(expect.any(Number));
    expect(stats.series).toHaveLength(12);
    expect(stats.series.reduce((sum, bucket) => sum + bucket.attempts, 0)).toBe(3);
    expect(stats.series.at(-1)).toMatchObject({ attempts: 3, succeeded: 1, failed: 2 });
    const statements = await statementsOf(response);
    expect(statements.length - keyLookups(statements).length).toBe(1);
  });

  it('reports an open circuit and when its probe is due', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await failingWebhook(account.token);
    await publishAndReceive(account.accountId, endpoint.id, 3);
    await eventually(async () =>
      expect(await webhookState(webhook.id)).toMatchObject({ circuit_opened_at: expect.any(String) }),
    );
    const { circuit } = await statsOf(account.token, webhook.id, '?window=7d');
    expect(circuit.state).toBe('open');
    const opened = Date.parse(`${(await webhookState(webhook.id))?.circuit_opened_at}`);
    expect(Date.parse(`${circuit.nextProbeAt}`)).toBe(opened + 60_000);
    await backdateCircuit(webhook.id);
    expect((await statsOf(account.token, webhook.id, '?window=30d')).circuit.state).toBe('half_open');
  });

  it('refuses an unknown window, with the windows it takes', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const issues = await expectValidationIssues(await getStats(account.token, webhook.id, '?window=2h'));
    expect(issues).toEqual([{ path: 'query.window', message: 'Must be one of 1h, 24h, 7d, 30d' }]);
  });

  it('is 404 for another account’s webhook, 403 without the read scope or outside a limited key’s companies', async () => {
    const account = await createTestAccount();
    const other = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, { companyId: account.companyId });
    await expectError(await getStats(other.token, webhook.id), 404, 'RESOURCE_NOT_FOUND');
    const writeOnly = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    await expectError(await getStats(writeOnly.token, webhook.id), 403, 'INSUFFICIENT_PERMISSIONS');
    const limited = await createTestKey({
      accountId: account.accountId,
      scopes: ['read:webhooks'],
      companyIds: [await createTestCompany(account.accountId)],
    });
    await expectError(await getStats(limited.token, webhook.id), 403, 'RESOURCE_ACCESS_DENIED');
  });
});

describe('the webhook resource’s health', () => {
  it('goes healthy → failing → circuit_open → disabled, with failingSince and lastSuccessAt', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 200 },
      { status: 500 },
      { status: 500 },
      { status: 500 },
    ]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    expect((await resource(account.token, webhook.id)).health).toEqual({
      status: 'healthy',
      failingSince: null,
      lastSuccessAt: null,
    });
    await publishAndReceive(account.accountId, endpoint.id, 1);
    await eventually(async () =>
      expect((await resource(account.token, webhook.id)).health).toMatchObject({
        status: 'healthy',
        lastSuccessAt: expect.any(String),
      }),
    );
    await publishAndReceive(account.accountId, endpoint.id, 1);
    await eventually(async () =>
      expect((await resource(account.token, webhook.id)).health).toMatchObject({
        status: 'failing',
        failingSince: expect.any(String),
      }),
    );
    await publishAndReceive(account.accountId, endpoint.id, 2);
    await eventually(async () =>
      expect((await resource(account.token, webhook.id)).health.status).toBe('circuit_open'),
    );
    expect((await deactivate(account.token, webhook.id)).status).toBe(200);
    const listed = await throughWorker(webhookRequest(undefined, { token: account.token, method: 'GET' }));
    const [item] = ((await listed.json()) as { data: { data: { health: { status: string } }[] } }).data.data;
    expect(item?.health.status).toBe('disabled');
  });
});

describe('state-change events', () => {
  it('a circuit opening is one WEBHOOK_CIRCUIT_OPENED, delivered to another webhook, never to the failing one', async () => {
    const account = await createTestAccount();
    // Subscribed to the state-change events itself: it must still never get one about itself.
    const failing = await failingWebhook(account.token, {
      events: ['INTERVIEW_COMPLETED', ...STATE_CHANGE_EVENTS],
    });
    const watcher = await webhookWithReceiver(account.token, { events: ['WEBHOOK_CIRCUIT_OPENED'] });
    await publishAndReceive(account.accountId, failing.endpoint.id, 3);
    const [delivery] = await eventually(async () => {
      const got = await received(watcher.endpoint.id);
      expect(got).toHaveLength(1);
      return got;
    });
    expect(delivery?.verifiedWith).toEqual([0]);
    const body = JSON.parse(`${delivery?.body}`) as { event: string; data: Record<string, unknown> };
    expect(body).toMatchObject({
      event: 'WEBHOOK_CIRCUIT_OPENED',
      data: {
        webhookId: failing.webhook.id,
        url: failing.webhook.url,
        reason: null,
        failingSince: expect.any(String),
        lastAttempt: { httpStatus: 500, error: 'HTTP 500 from the endpoint' },
        summary: expect.stringContaining('failed 3 attempts in a row'),
      },
    });
    expect(String(body.data.summary)).not.toMatch(/https?:/);
    // More failures while it is open (skipped) change nothing: no second event.
    await publish({ accountId: account.accountId });
    await pause(2500);
    expect(await received(watcher.endpoint.id)).toHaveLength(1);
    expect(
      (await eventsAbout(failing.webhook.id)).filter((event) => event.type === 'WEBHOOK_CIRCUIT_OPENED'),
    ).toHaveLength(1);
    // The failing webhook got its three product events, nothing else.
    const own = await received(failing.endpoint.id);
    expect(own.map((request) => (JSON.parse(request.body) as { event: string }).event)).toEqual([
      'INTERVIEW_COMPLETED',
      'INTERVIEW_COMPLETED',
      'INTERVIEW_COMPLETED',
    ]);
  });

  it('a probe that succeeds is one WEBHOOK_RECOVERED', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200 }]);
    const watcher = await webhookWithReceiver(account.token, { events: ['WEBHOOK_RECOVERED'] });
    await withDatabase((db) =>
      db.execute(sql`update webhooks set consecutive_failures = 3, failing_since = now() - interval '10 minutes',
        circuit_opened_at = now() - interval '1 hour' where id = ${webhook.id}::uuid`),
    );
    await publishAndReceive(account.accountId, endpoint.id, 2);
    const [delivery] = await eventually(async () => {
      const got = await received(watcher.endpoint.id);
      expect(got).toHaveLength(1);
      return got;
    });
    expect(JSON.parse(`${delivery?.body}`)).toMatchObject({
      event: 'WEBHOOK_RECOVERED',
      // failingSince: when the failure streak that just ended began.
      data: { webhookId: webhook.id, failingSince: expect.any(String), lastAttempt: { httpStatus: 200, error: null } },
    });
    expect((await eventsAbout(webhook.id)).map((event) => event.type)).toEqual(['WEBHOOK_RECOVERED']);
  });

  it('DELIVERY_EXHAUSTED comes at most once an hour per webhook, with the count since the last one', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await failingWebhook(account.token);
    await publishAndReceive(account.accountId, endpoint.id, 2);
    await eventually(async () =>
      expect((await deliveriesOf({ webhookId: webhook.id })).map((delivery) => delivery.status)).toEqual([
        'failed',
        'failed',
      ]),
    );
    expect((await eventsAbout(webhook.id)).map((event) => [event.type, event.data.count])).toEqual([
      ['DELIVERY_EXHAUSTED', 1],
    ]);
    // An hour on (and the circuit kept shut, so the next one is attempted): the next exhaustion reports 2.
    await withDatabase((db) =>
      db.execute(sql`update webhooks set exhausted_notified_at = now() - interval '61 minutes',
        consecutive_failures = 0 where id = ${webhook.id}::uuid`),
    );
    await publishAndReceive(account.accountId, endpoint.id, 1);
    await eventually(async () =>
      expect((await eventsAbout(webhook.id)).map((event) => [event.type, event.data.count])).toEqual([
        ['DELIVERY_EXHAUSTED', 1],
        ['DELIVERY_EXHAUSTED', 2],
      ]),
    );
  });

  it('an attempt stays two statements, whether or not it changes a state', async () => {
    const account = await createTestAccount();
    const { webhook } = await failingWebhook(account.token);
    const quiet = await unqueuedDelivery(account.accountId);
    await withDatabase((db) =>
      db.execute(sql`update webhooks set exhausted_notified_at = now() where id = ${webhook.id}::uuid`),
    );
    await consumeOne('webhook-deliveries', { deliveryId: quiet.deliveryId, series: 1 });
    expect(await eventsAbout(webhook.id)).toEqual([]);
    expect(await statementsNamed(`webhooks delivery ${quiet.deliveryId}`)).toHaveLength(2);
    // The third failure opens the circuit: an event, in the same two statements.
    await withDatabase((db) =>
      db.execute(sql`update webhooks set consecutive_failures = 2 where id = ${webhook.id}::uuid`),
    );
    const opening = await unqueuedDelivery(account.accountId);
    await consumeOne('webhook-deliveries', { deliveryId: opening.deliveryId, series: 1 });
    expect((await eventsAbout(webhook.id)).map((event) => event.type)).toEqual(['WEBHOOK_CIRCUIT_OPENED']);
    expect(await statementsNamed(`webhooks delivery ${opening.deliveryId}`)).toHaveLength(2);
  });

  it('are the service’s own: POST /events refuses them', async () => {
    const account = await createTestAccount();
    const issues = await expectValidationIssues(
      await throughWorker(publishRequest({ accountId: account.accountId, type: 'WEBHOOK_DISABLED' })),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['type']);
  });
});

describe('auto-disable, its reasons, and re-enabling', () => {
  it('failing without a success for AUTO_DISABLE_AFTER_SECONDS disables it (FAILING), cancels what was pending, once', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    const watcher = await webhookWithReceiver(account.token, { events: ['WEBHOOK_DISABLED'] });
    // Five days and a minute of failure (the default): the next failed attempt disables it.
    await withDatabase((db) =>
      db.execute(sql`update webhooks set failing_since = now() - interval '5 days 1 minute', consecutive_failures = 1
        where id = ${webhook.id}::uuid`),
    );
    const attempted = await unqueuedDelivery(account.accountId);
    const waiting = await unqueuedDelivery(account.accountId);
    await consumeOne('webhook-deliveries', { deliveryId: attempted.deliveryId, series: 1 });
    expect(await received(endpoint.id)).toHaveLength(1);
    const disabled = await resource(account.token, webhook.id);
    expect(disabled).toMatchObject({
      isActive: false,
      disabledReason: 'FAILING',
      disabledAt: expect.any(String),
      health: { status: 'disabled' },
    });
    expect(await deliveriesOf({ eventId: waiting.eventId })).toEqual([
      expect.objectContaining({ status: 'cancelled', last_error: 'not sent: the webhook was disabled (failing)' }),
    ]);
    const [event] = await eventsAbout(webhook.id);
    expect(event).toMatchObject({
      type: 'WEBHOOK_DISABLED',
      data: { reason: 'FAILING', summary: expect.stringContaining('no attempt succeeded since') },
    });
    await eventually(async () => expect(await received(watcher.endpoint.id)).toHaveLength(1));
    // Its own retry, arriving afterwards, is cancelled: no second event.
    await consumeOne('webhook-deliveries', { deliveryId: attempted.deliveryId, series: 1 });
    expect((await eventsAbout(webhook.id)).map((stored) => stored.type)).toEqual(['WEBHOOK_DISABLED']);
  });

  it('failing for less than that does not', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, {}, [{ status: 500 }]);
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set failing_since = now() - interval '4 days 23 hours' where id = ${webhook.id}::uuid`,
      ),
    );
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    await consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    expect(await resource(account.token, webhook.id)).toMatchObject({ isActive: true, disabledReason: null });
  });

  it('a 410 disables it as GONE, with one WEBHOOK_DISABLED', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, {}, [{ status: 410 }]);
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    await consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    expect(await resource(account.token, webhook.id)).toMatchObject({ isActive: false, disabledReason: 'GONE' });
    expect((await eventsAbout(webhook.id)).map((event) => [event.type, event.data.reason])).toEqual([
      ['WEBHOOK_DISABLED', 'GONE'],
    ]);
  });

  it('PATCH isActive: false is MANUAL, with one WEBHOOK_DISABLED; sending it again adds none', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, { companyId: account.companyId });
    const watcher = await webhookWithReceiver(account.token, { events: ['WEBHOOK_DISABLED'] });
    const response = await patch(account.token, webhook.id, { isActive: false });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: unknown }).data).toMatchObject({
      isActive: false,
      disabledReason: 'MANUAL',
      disabledAt: expect.any(String),
    });
    expect((await statementsOf(response)).filter((statement) => !statement.includes('"api_keys"'))).toHaveLength(1);
    expect((await patch(account.token, webhook.id, { isActive: false })).status).toBe(200);
    const events = await eventsAbout(webhook.id);
    expect(events).toEqual([
      expect.objectContaining({ type: 'WEBHOOK_DISABLED', company_id: account.companyId, data: expect.any(Object) }),
    ]);
    expect(events[0]?.data).toMatchObject({ reason: 'MANUAL', lastAttempt: null });
    // The watcher has no company: an event of the webhook's company reaches it (its key reaches every company).
    await eventually(async () => expect(await received(watcher.endpoint.id)).toHaveLength(1));
  });

  it('PATCH isActive: true clears the reason, closes the circuit; recover then sends what was cancelled', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500 }, { status: 200 }]);
    await withDatabase((db) =>
      db.execute(sql`update webhooks set failing_since = now() - interval '6 days', consecutive_failures = 1
        where id = ${webhook.id}::uuid`),
    );
    const attempted = await unqueuedDelivery(account.accountId);
    const waiting = await unqueuedDelivery(account.accountId);
    await consumeOne('webhook-deliveries', { deliveryId: attempted.deliveryId, series: 1 });
    const disabled = await resource(account.token, webhook.id);
    expect(disabled).toMatchObject({ isActive: false, disabledReason: 'FAILING' });
    const failingSince = String(disabled.health.failingSince);
    const response = await patch(account.token, webhook.id, { isActive: true });
    expect(((await response.json()) as { data: unknown }).data).toMatchObject({
      isActive: true,
      disabledReason: null,
      disabledAt: null,
      consecutiveFailures: 0,
      circuitOpenedAt: null,
      health: { status: 'healthy', failingSince: null },
    });
    const recovered = await throughWorker(
      webhookRequest(
        { since: failingSince, statuses: ['failed', 'skipped', 'cancelled'] },
        { token: account.token, path: `/webhooks/${webhook.id}/recover` },
      ),
    );
    expect(recovered.status).toBe(202);
    // The cancelled one. The attempt that disabled the webhook left its own delivery pending, its retry
    // on the queue (recover leaves a first series that may still have its message alone): when that
    // message comes, the webhook is active again and it is sent.
    expect(((await recovered.json()) as { data: { count: number } }).data.count).toBe(1);
    await withDatabase((db) =>
      db.execute(sql`update deliveries set next_attempt_at = now() where id = ${attempted.deliveryId}::uuid`),
    );
    await consumeOne('webhook-deliveries', { deliveryId: attempted.deliveryId, series: 1 });
    await eventually(async () =>
      expect((await deliveriesOf({ webhookId: webhook.id })).map((delivery) => delivery.status)).toEqual([
        'succeeded',
        'succeeded',
      ]),
    );
    expect(await deliveriesOf({ eventId: waiting.eventId })).toHaveLength(1);
    expect((await received(endpoint.id)).length).toBeGreaterThanOrEqual(3);
  });

  it('PATCH isActive: true closes an open circuit of an active webhook too', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    await withDatabase((db) =>
      db.execute(sql`update webhooks set consecutive_failures = 4, circuit_opened_at = now(),
        failing_since = now() - interval '1 hour' where id = ${webhook.id}::uuid`),
    );
    const response = await patch(account.token, webhook.id, { isActive: true });
    expect(((await response.json()) as { data: unknown }).data).toMatchObject({
      consecutiveFailures: 0,
      circuitOpenedAt: null,
      health: { status: 'healthy', failingSince: null },
    });
  });
});

describe('the operations endpoint (OPERATIONS_WEBHOOK_URL)', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('gets each state-change event, signed with OPERATIONS_WEBHOOK_SECRET, its id as webhook-id', async () => {
    const endpoint = await receiverEndpoint([secret]);
    const event = {
      accountId: crypto.randomUUID(),
      id: crypto.randomUUID(),
      companyId: null,
      type: 'WEBHOOK_DISABLED',
      occurredAt: new Date().toISOString(),
      data: JSON.stringify({ webhookId: crypto.randomUUID(), reason: 'GONE' }),
    };
    const overrides = { OPERATIONS_WEBHOOK_URL: endpoint.url, OPERATIONS_WEBHOOK_SECRET: secret } as Partial<Env>;
    expect(await consumeOne('webhook-deliveries', { kind: 'operations', event }, { overrides })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    const [delivery] = await received(endpoint.id);
    expect(delivery?.verifiedWith).toEqual([0]);
    expect(delivery?.headers['webhook-id']).toBe(event.id);
    expect(JSON.parse(`${delivery?.body}`)).toMatchObject({ event: 'WEBHOOK_DISABLED', data: { reason: 'GONE' } });
  });

  it('retries a failed attempt on the schedule; without the setting the message is dropped', async () => {
    const endpoint = await receiverEndpoint([secret], [{ status: 503 }]);
    const event = {
      accountId: crypto.randomUUID(),
      id: crypto.randomUUID(),
      companyId: null,
      type: 'DELIVERY_EXHAUSTED',
      occurredAt: new Date().toISOString(),
      data: '{"count":1}',
    };
    const overrides = { OPERATIONS_WEBHOOK_URL: endpoint.url, OPERATIONS_WEBHOOK_SECRET: secret } as Partial<Env>;
    expect(await consumeOne('webhook-deliveries', { kind: 'operations', event }, { overrides })).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 1 },
    });
    expect(await consumeOne('webhook-deliveries', { kind: 'operations', event })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('is queued by the fan-out of a state-change event, when configured', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    expect((await deactivate(account.token, webhook.id)).status).toBe(200);
    const [stored] = await withDatabase(
      async (db) =>
        (
          await db.execute<{ id: string; occurred_at: string; data: string }>(sql`
          select id, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at, data
          from events where subject_webhook_id = ${webhook.id}::uuid`)
        ).rows,
    );
    if (!stored) throw new Error('no WEBHOOK_DISABLED stored');
    // Miniflare's queue cannot be read from a test: this binding records what the fan-out hands it.
    const sent: unknown[] = [];
    const recorder = {
      send: async (body: unknown) => void sent.push(body),
      sendBatch: async (batch: Iterable<{ body: unknown }>) => void sent.push(...[...batch].map(({ body }) => body)),
    };
    const event = {
      accountId: account.accountId,
      id: stored.id,
      companyId: null,
      type: 'WEBHOOK_DISABLED',
      occurredAt: stored.occurred_at,
      data: stored.data,
    };
    const overrides = {
      OPERATIONS_WEBHOOK_URL: 'https://ops.instaview.test/hooks',
      OPERATIONS_WEBHOOK_SECRET: secret,
      WEBHOOK_DELIVERIES: recorder,
    } as unknown as Partial<Env>;
    expect(await consumeOne('webhook-events', { kind: 'state-change', event }, { overrides })).toMatchObject({
      acked: true,
    });
    expect(sent).toContainEqual({ kind: 'operations', event });
  });
});

describe('the sweeps', () => {
  async function runCron(cron: string) {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
  }

  it('the minute sweep fans out a state-change event whose message was lost', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const watcher = await webhookWithReceiver(account.token, { events: ['WEBHOOK_DISABLED'] });
    // A queue that refuses every message cannot be had from Miniflare: this binding throws, as a failed send does.
    const failingQueue = {
      send: async () => Promise.reject(new Error('queue unavailable')),
      sendBatch: async () => Promise.reject(new Error('queue unavailable')),
    };
    const response = await throughWorker(
      webhookRequest({ isActive: false }, { token: account.token, method: 'PATCH', path: `/webhooks/${webhook.id}` }),
      { WEBHOOK_EVENTS: failingQueue } as unknown as Partial<Env>,
    );
    expect(response.status).toBe(200);
    expect((await eventsAbout(webhook.id)).map((event) => event.type)).toEqual(['WEBHOOK_DISABLED']);
    await pause(1500);
    expect(await received(watcher.endpoint.id)).toEqual([]);
    await withDatabase((db) =>
      db.execute(sql`update events set created_at = now() - interval '15 minutes'
        where subject_webhook_id = ${webhook.id}::uuid`),
    );
    await runCron(SWEEP_CRON);
    await eventually(async () => expect(await received(watcher.endpoint.id)).toHaveLength(1));
  });

  it('the hourly purge drops rollup rows older than the longest window', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    await withDatabase((db) =>
      db.execute(sql`insert into webhook_attempt_stats (webhook_id, bucket_start, attempts) values
        (${webhook.id}::uuid, now() - interval '32 days', 1), (${webhook.id}::uuid, now() - interval '29 days', 1)`),
    );
    await runCron(PURGE_CRON);
    const left = await withDatabase((db) =>
      db.execute<{ days: number }>(sql`select extract(day from now() - bucket_start)::int as days
        from webhook_attempt_stats where webhook_id = ${webhook.id}::uuid`),
    );
    expect(left.rows).toEqual([{ days: 29 }]);
  });
});

// The env the tests run with must not turn the operations endpoint on for every test.
it('runs the tests without an operations endpoint', () => {
  expect((env as Env & { OPERATIONS_WEBHOOK_URL?: string }).OPERATIONS_WEBHOOK_URL).toBeUndefined();
});
