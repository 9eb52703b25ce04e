// The webhook-deliveries consumer, one message at a time: what it acks, what it hands back to the queue
// and with which delay. Miniflare's queue does not report the delay a retry asked for, so these tests
// hand the Worker's queue handler a message themselves (createMessageBatch) and watch msg.retry.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, inject, it } from 'vitest';
import { FRESH_CLAIM_MS, MAX_IN_FLIGHT, SENDING_LANES } from '../src/deliveries/deliver.ts';
import { parseRetryAfter, retryDelaySeconds } from '../src/deliveries/retry-schedule.ts';
import { MAX_LANES_PER_WEBHOOK } from '../src/deliveries/store/claims.ts';
import worker from '../src/index.ts';
import { PURGE_CRON, SWEEP_CRON } from '../src/jobs/scheduled.ts';
import { secretBox } from '../src/lib/secret-box.ts';
import { sealHeaders } from '../src/webhooks/secrets.ts';
import { throughWorker, webhookRequest } from './support/api.ts';
import { holdRowLock, holdWebhookRow, withDatabase } from './support/database.ts';
import {
  backdateCircuit,
  consumeBatch,
  consumeOne,
  deactivate,
  deliveriesOf,
  eventually,
  mostInFlight,
  pause,
  received,
  receiverEndpoint,
  recordingQueue,
  unqueuedDelivery,
  webhookState,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, data } from './support/routes.ts';
import { statementsNaming } from './support/statements.ts';

/** PGlite runs one transaction at a time: nothing there is ever held by another transaction while a statement runs. */
const isPostgres = inject('databaseKind') === 'postgres';

describe('the retry schedule', () => {
  const schedule = [5, 300, 1800];

  it('waits the schedule’s step for each failed attempt, its last step beyond it, nothing once retries are spent', () => {
    expect([1, 2, 3].map((attempt) => retryDelaySeconds(attempt, 3, schedule))).toEqual([5, 300, 1800]);
    expect(retryDelaySeconds(4, 3, schedule)).toBeUndefined();
    expect(retryDelaySeconds(1, 0, schedule)).toBeUndefined();
    expect(retryDelaySeconds(5, 10, schedule)).toBe(1800);
  });

  it('lets a Retry-After lengthen a wait but never shorten it, and caps every wait at a day', () => {
    expect(retryDelaySeconds(1, 3, schedule, 120)).toBe(120);
    expect(retryDelaySeconds(2, 3, schedule, 10)).toBe(300);
    expect(retryDelaySeconds(1, 3, schedule, 10_000_000)).toBe(86_400);
  });

  it.each([
    ['120', 120],
    [' 7 ', 7],
    ['0', 0],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    [null, undefined],
  ])('reads Retry-After %j as %j seconds', (header, seconds) => {
    expect(parseRetryAfter(header)).toBe(seconds);
  });

  it('reads an HTTP date Retry-After as the seconds until it, none for a date gone by', () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    expect(parseRetryAfter('Fri, 27 Nov 2026 10:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Fri, 27 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
});

describe('what the consumer does with a message', () => {
  async function pending(responses: Parameters<typeof webhookWithReceiver>[2]) {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, responses);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    return { webhook, endpoint, eventId, message: { deliveryId, series: 1 } };
  }

  it('acks a delivered message', async () => {
    const { endpoint, eventId, message } = await pending([{ status: 200 }]);
    expect(await consumeOne('webhook-deliveries', message)).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
  });

  it('hands a failed attempt back with the schedule’s delay (a second in tests), and records when it is due', async () => {
    const { eventId, message } = await pending([{ status: 500 }]);
    expect(await consumeOne('webhook-deliveries', message)).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 1 },
    });
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 1, last_http_status: 500 }),
    ]);
  });

  it('waits as long as a 503’s Retry-After asks', async () => {
    const { eventId, message } = await pending([{ status: 503, headers: { 'Retry-After': '120' } }]);
    expect((await consumeOne('webhook-deliveries', message)).retriedWith).toEqual({ delaySeconds: 120 });
    const due = await withDatabase((db) =>
      db.execute<{ seconds: number }>(sql`
        select extract(epoch from next_attempt_at - now())::int as seconds from deliveries where event_id = ${eventId}`),
    );
    expect(due.rows[0]?.seconds).toBeGreaterThan(110);
    expect(due.rows[0]?.seconds).toBeLessThanOrEqual(120);
  });

  it('fails for good, without sending, a custom header value that cannot be sent; the error names only the header', async () => {
    const { webhook, endpoint, eventId, message } = await pending([{ status: 200 }]);
    // The API refuses such a value (validation.test.ts); a row written before that rule, or by hand, can hold one.
    // A line break: no Headers implementation sends it (workerd sends a value such as € as UTF-8 bytes).
    const sealed = await sealHeaders(secretBox(env.ENCRYPTION_KEYS), webhook.id, [
      { name: 'X-Tenant', value: 'acme\r\nX-Injected: yes' },
    ]);
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set header_names = array['X-Tenant'], headers_sealed = ${sealed} where id = ${webhook.id}::uuid`,
      ),
    );
    expect(await consumeOne('webhook-deliveries', message)).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toEqual([]);
    const [delivery] = await deliveriesOf({ eventId });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });
    expect(delivery?.last_error).toMatch(/X-Tenant/i);
    expect(delivery?.last_error).not.toMatch(/acme|Injected/);
  });

  it('acks once retries are spent: the delivery is failed', async () => {
    const { webhook, eventId, message } = await pending([{ status: 500 }]);
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    expect(await consumeOne('webhook-deliveries', message)).toEqual({ acked: true, retriedWith: undefined });
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'failed', attempts: 1 })]);
    expect(await webhookState(webhook.id)).toMatchObject({ consecutive_failures: 1 });
  });

  it('acks, without sending, a message that is a duplicate, of an older series, or about nothing', async () => {
    const { endpoint, message } = await pending([{ status: 200 }]);
    await consumeOne('webhook-deliveries', message);
    expect(await consumeOne('webhook-deliveries', message, { attempts: 2 })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    expect(await consumeOne('webhook-deliveries', { ...message, series: 0 })).toMatchObject({ acked: true });
    expect(await consumeOne('webhook-deliveries', { deliveryId: crypto.randomUUID(), series: 1 })).toMatchObject({
      acked: true,
    });
    expect(await consumeOne('webhook-deliveries', { not: 'a delivery' })).toMatchObject({ acked: true });
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('a second copy arriving while the first is being sent waits out the lease instead of sending', async () => {
    const { endpoint, message } = await pending([{ status: 200, delayMs: 1500 }]);
    const first = consumeOne('webhook-deliveries', message);
    await pause(500);
    const second = await consumeOne('webhook-deliveries', message);
    expect(second.acked).toBe(false);
    // The lease: the webhook's timeout (30 s by default) and a 30 s margin to record the outcome.
    expect(second.retriedWith?.delaySeconds).toBeGreaterThan(55);
    expect(await first).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});

describe('locks: a webhook before its deliveries, in every statement that takes both', () => {
  it('a delivery claimed while its webhook is being deactivated is cancelled; neither side deadlocks', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    // Another transaction holds the webhook; the deactivation queues for it, then the consumer's claim
    // does. Were the claim to take the delivery first, it would hold what the deactivation needs once
    // it has the webhook: a deadlock, which Postgres ends by failing one of them (a 503, or a message
    // sent back to the queue).
    const holding = holdWebhookRow(webhook.id, 1.5);
    await pause(300);
    const deactivating = deactivate(account.token, webhook.id);
    await pause(300);
    const consumed = consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    const [patched, outcome] = await Promise.all([deactivating, consumed, holding]);
    expect(patched.status).toBe(200);
    expect(outcome).toEqual({ acked: true, retriedWith: undefined });
    // On Postgres the row lock's queue decides: the deactivation first, so the delivery is cancelled
    // unsent. PGlite runs one statement at a time and may take the claim first: then it is sent once,
    // and the deactivation cancels it in flight or finds it delivered.
    const [delivery] = await deliveriesOf({ webhookId: webhook.id });
    const sent = (await received(endpoint.id)).length;
    if (isPostgres) {
      expect({ status: delivery?.status, sent }).toEqual({ status: 'cancelled', sent: 0 });
    } else {
      expect(sent).toBeLessThanOrEqual(1);
      expect(['cancelled', 'succeeded']).toContain(delivery?.status);
    }
  });

  it('an attempt recorded while its webhook is being deactivated stays cancelled; neither side deadlocks', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500, delayMs: 1000 }]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    // The deactivation and then the attempt's record queue for the webhook another transaction holds.
    // Were the record to take its delivery first, the deactivation (cancelling that pending delivery)
    // would wait for it while the record waits for the webhook.
    const attempting = consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    const holding = holdWebhookRow(webhook.id, 2);
    await pause(300);
    const deactivating = deactivate(account.token, webhook.id);
    const [attempted, patched] = await Promise.all([attempting, deactivating, holding]);
    expect(patched.status).toBe(200);
    // Either way the attempt is logged. On Postgres the deactivation comes first: the delivery stays
    // cancelled and the message is done. PGlite may record the attempt first: then a retry is due, which
    // the deactivation cancels.
    const [delivery] = await deliveriesOf({ eventId });
    expect(delivery).toMatchObject({ status: 'cancelled', attempts: 1, last_http_status: 500 });
    if (isPostgres) expect(attempted).toEqual({ acked: true, retriedWith: undefined });
  });

  it('a 410 recorded while another delivery of the webhook is being claimed cancels it; neither side deadlocks', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 410, delayMs: 1000 }]);
    const gone = await unqueuedDelivery(account.accountId);
    const other = await unqueuedDelivery(account.accountId);
    // The 410's record and then the other delivery's claim queue for the webhook another transaction
    // holds. Were each to take its delivery first, the record (cancelling the webhook's pending
    // deliveries) would wait for the claim's delivery while the claim waits for the webhook.
    const attempting = consumeOne('webhook-deliveries', { deliveryId: gone.deliveryId, series: 1 });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    const holding = holdWebhookRow(webhook.id, 2);
    await pause(1300);
    const claiming = consumeOne('webhook-deliveries', { deliveryId: other.deliveryId, series: 1 });
    const [attempted, claimed] = await Promise.all([attempting, claiming, holding]);
    expect(attempted).toEqual({ acked: true, retriedWith: undefined });
    expect(claimed).toEqual({ acked: true, retriedWith: undefined });
    expect(await webhookState(webhook.id)).toMatchObject({ is_active: false });
    expect(await deliveriesOf({ eventId: gone.eventId })).toEqual([expect.objectContaining({ status: 'failed' })]);
    const [second] = await deliveriesOf({ eventId: other.eventId });
    if (isPostgres) {
      expect(second?.status).toBe('cancelled');
      expect(await received(endpoint.id)).toHaveLength(1);
    } else {
      // PGlite may take the claim before the record: then the other delivery goes out (and gets a 410 too).
      expect(['cancelled', 'failed']).toContain(second?.status);
    }
  });
});

describe('a batch of deliveries', () => {
  it(`is sent ${SENDING_LANES} at a time at most (the Workers limit on connections awaiting headers, one kept for the database), every one`, async () => {
    // Two webhooks (each may have MAX_LANES_PER_WEBHOOK in flight) of two accounts, on one endpoint.
    const endpoint = await receiverEndpoint([], [{ status: 200, delayMs: 1000 }]);
    const accounts = [await createTestAccount(), await createTestAccount()];
    for (const account of accounts) {
      await data(
        await call('POST', '/webhooks', {
          token: account.token,
          body: { url: endpoint.url, events: ['INTERVIEW_COMPLETED'] },
        }),
        201,
      );
    }
    const messages = [];
    for (let count = 0; count < 10; count++) {
      const account = accounts[count % 2] ?? accounts[0];
      messages.push({ deliveryId: (await unqueuedDelivery(account?.accountId ?? '')).deliveryId, series: 1 });
    }
    const results = await consumeBatch('webhook-deliveries', messages);
    expect(SENDING_LANES).toBe(MAX_IN_FLIGHT - 1);
    expect(SENDING_LANES).toBeLessThanOrEqual(2 * MAX_LANES_PER_WEBHOOK);
    expect(await mostInFlight(endpoint.id)).toBe(SENDING_LANES);
    // What found its webhook's lanes taken came back a second later: every one is sent in the end.
    const sent = results.filter((result) => result.acked).length;
    expect(sent).toBeGreaterThanOrEqual(SENDING_LANES);
    expect(results.filter((result) => !result.acked).map((result) => result.retriedWith)).toEqual(
      Array.from({ length: 10 - sent }, () => ({ delaySeconds: 1 })),
    );
  });

  it('a full batch on the main queue is claimed in one statement: a message for each lane and those made ahead', async () => {
    // Four webhooks, so no delivery finds its webhook's lanes taken.
    const account = await createTestAccount();
    const types = ['INTERVIEW_COMPLETED', 'INTERVIEW_STARTED', 'ANALYSIS_COMPLETED', 'ANALYSIS_FAILED'] as const;
    const hooks = [];
    for (const type of types) hooks.push(await webhookWithReceiver(account.token, { events: [type] }));
    const messages = [];
    for (let count = 0; count < 10; count++) {
      messages.push({
        deliveryId: (await unqueuedDelivery(account.accountId, types[count % types.length])).deliveryId,
        series: 1,
      });
    }
    const results = await consumeBatch('webhook-deliveries', messages);
    expect(results.every((result) => result.acked)).toBe(true);
    const claims = (await statementsNaming(messages.map((message) => message.deliveryId))).filter((statement) =>
      statement.includes('ord int)'),
    );
    expect(claims).toHaveLength(1);
    for (const hook of hooks) expect((await received(hook.endpoint.id)).length).toBeGreaterThanOrEqual(2);
  });

  it(`lets one webhook have ${MAX_LANES_PER_WEBHOOK} attempts in flight at most; the rest come back a second later`, async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200, delayMs: 1000 }]);
    const messages = [];
    for (let count = 0; count < 8; count++) {
      messages.push({ deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 });
    }
    const results = await consumeBatch('webhook-deliveries', messages);
    expect(await mostInFlight(endpoint.id)).toBe(MAX_LANES_PER_WEBHOOK);
    expect(results.filter((result) => result.acked)).toHaveLength(MAX_LANES_PER_WEBHOOK);
    expect(results.filter((result) => result.retriedWith?.delaySeconds === 1)).toHaveLength(8 - MAX_LANES_PER_WEBHOOK);
    // Deferred, not attempted: nothing counted, nothing failed; and every lane given back.
    const stored = await deliveriesOf({ webhookId: webhook.id });
    expect(stored.filter((delivery) => delivery.attempts === 0 && delivery.status === 'pending')).toHaveLength(
      8 - MAX_LANES_PER_WEBHOOK,
    );
    const lanes = await withDatabase((db) =>
      db.execute<{ lanes: string }>(sql`select lanes::text as lanes from webhooks where id = ${webhook.id}::uuid`),
    );
    expect(lanes.rows[0]?.lanes).toBe('{}');
    expect((await webhookState(webhook.id))?.consecutive_failures).toBe(0);
  });
});

describe('claims made ahead on the main queue', () => {
  /** A webhook of an account of its own, and one message for a delivery of it. */
  async function webhookWithMessage(responses: Parameters<typeof webhookWithReceiver>[2] = []) {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, responses);
    const message = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    return { account, webhook, endpoint, message };
  }

  /** PATCHes the webhook's URL to a new endpoint of the receiver; returns that endpoint. */
  async function moveTo(token: string, webhookId: string) {
    const endpoint = await receiverEndpoint();
    const patched = await throughWorker(
      webhookRequest({ url: endpoint.url }, { token, method: 'PATCH', path: `/webhooks/${webhookId}` }),
    );
    expect(patched.status).toBe(200);
    return endpoint;
  }

  it('one that waited for a lane past FRESH_CLAIM_MS is renewed first: sent once if it still holds; not sent if its webhook was deactivated or given a new URL meanwhile', async () => {
    // Messages to two webhooks whose receivers answer only after FRESH_CLAIM_MS hold every sending lane;
    // the messages of four more webhooks, claimed with theirs, wait for a lane until then.
    const messages: { deliveryId: string; series: number }[] = [];
    for (const lanes of [MAX_LANES_PER_WEBHOOK, SENDING_LANES - MAX_LANES_PER_WEBHOOK]) {
      const account = await createTestAccount();
      await webhookWithReceiver(account.token, {}, [{ status: 200, delayMs: FRESH_CLAIM_MS + 1500 }]);
      for (let count = 0; count < lanes; count++) {
        messages.push({ deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 });
      }
    }
    const kept = await webhookWithMessage();
    const dropped = await webhookWithMessage();
    const moved = await webhookWithMessage();
    // Its circuit open and past its cool-down: this message's claim is the probe.
    const probed = await webhookWithMessage();
    await backdateCircuit(probed.webhook.id);
    messages.push(kept.message, dropped.message, moved.message, probed.message);

    const batch = consumeBatch('webhook-deliveries', messages);
    await pause(500);
    expect((await deactivate(dropped.account.token, dropped.webhook.id)).status).toBe(200);
    const movedEndpoint = await moveTo(moved.account.token, moved.webhook.id);
    const probedEndpoint = await moveTo(probed.account.token, probed.webhook.id);
    const results = await batch;
    const resultOf = (message: { deliveryId: string }) =>
      results[messages.findIndex((sent) => sent.deliveryId === message.deliveryId)];
    expect(results.slice(0, SENDING_LANES).every((result) => result.acked)).toBe(true);

    // Still holding: renewed and sent, once; its lane given back by the record.
    expect(resultOf(kept.message)?.acked).toBe(true);
    expect(await received(kept.endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ webhookId: kept.webhook.id })).toEqual([
      expect.objectContaining({ status: 'succeeded', attempts: 1 }),
    ]);
    const lanes = await withDatabase((db) =>
      db.execute<{ lanes: string }>(sql`select lanes::text as lanes from webhooks where id = ${kept.webhook.id}::uuid`),
    );
    expect(lanes.rows[0]?.lanes).toBe('{}');

    // The others were not sent: each message comes back a second later, to be claimed afresh.
    for (const notSent of [dropped, moved, probed]) {
      expect(resultOf(notSent.message)).toEqual({ acked: false, retriedWith: { delaySeconds: 1 } });
      expect(await received(notSent.endpoint.id)).toEqual([]);
      expect(await consumeOne('webhook-deliveries', notSent.message)).toEqual({ acked: true, retriedWith: undefined });
    }
    // Cancelled while it waited: its lease could not be renewed; claimed afresh, it is found cancelled.
    expect(await deliveriesOf({ webhookId: dropped.webhook.id })).toEqual([
      expect.objectContaining({ status: 'cancelled' }),
    ]);
    // Its URL changed while it waited: claimed afresh, it goes to the new one, and the claim undone gave
    // back the attempt it had counted: the one sent is attempt 1. A probe undone gives back its reopening
    // of the circuit too: claimed afresh, it is the probe again (not skipped for a cool-down that its
    // unsent claim began).
    for (const [changed, endpoint] of [
      [moved, movedEndpoint],
      [probed, probedEndpoint],
    ] as const) {
      expect(await received(endpoint.id)).toHaveLength(1);
      expect(await deliveriesOf({ webhookId: changed.webhook.id })).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 1 }),
      ]);
    }
  }, 30_000);
});

describe('a long wait for a busy webhook', () => {
  it('waits longer each trip, and after 90 trips goes back as a new message, never to the dead-letter queue', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200, delayMs: 1000 }]);
    // Every lane of the webhook held by attempts in flight (leases a minute long).
    const held = Object.fromEntries(
      Array.from({ length: MAX_LANES_PER_WEBHOOK }, () => [
        crypto.randomUUID(),
        new Date(Date.now() + 60_000).toISOString(),
      ]),
    );
    await withDatabase((db) =>
      db.execute(sql`update webhooks set lanes = ${JSON.stringify(held)}::jsonb where id = ${webhook.id}::uuid`),
    );
    const message = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    expect(await consumeOne('webhook-deliveries', message, { attempts: 12 })).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 12 },
    });
    expect((await consumeOne('webhook-deliveries', message, { attempts: 60 })).retriedWith).toEqual({
      delaySeconds: 30,
    });
    // The 95th trip: a retry would leave it 5 trips from the dead-letter queue (max_retries 100), where
    // it would be marked failed without an attempt. It goes back as a new message instead.
    // A recording binding, not Miniflare's queue: a real new message would go to the shared consumer,
    // whose own busy answers would race this test's assertions.
    const main = recordingQueue();
    expect(
      await consumeOne('webhook-deliveries', message, {
        attempts: 95,
        overrides: { WEBHOOK_DELIVERIES: main.queue },
      }),
    ).toEqual({ acked: true, retriedWith: undefined });
    expect(main.sends).toEqual([{ body: message, options: { delaySeconds: 30 } }]);
    const stored = await deliveriesOf({ webhookId: webhook.id });
    expect(stored.map((delivery) => [delivery.status, delivery.attempts])).toEqual([['pending', 0]]);
    expect(await received(endpoint.id)).toEqual([]);
  });
});

describe('waits longer than one trip through the queue', () => {
  async function pendingDelivery(responses: Parameters<typeof webhookWithReceiver>[2] = []) {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, responses);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    return { account, webhook, endpoint, eventId, message: { deliveryId, series: 1 } };
  }
  const dueIn = (eventId: string, seconds: number) =>
    withDatabase((db) =>
      db.execute(
        sql`update deliveries set next_attempt_at = now() + ${seconds}::int * interval '1 second' where event_id = ${eventId}`,
      ),
    );

  it('a Retry-After of a day is recorded as a day, and travels as a 12-hour trip', async () => {
    const { eventId, message } = await pendingDelivery([{ status: 429, headers: { 'Retry-After': '86400' } }]);
    expect((await consumeOne('webhook-deliveries', message)).retriedWith).toEqual({ delaySeconds: 43_200 });
    const due = await withDatabase((db) =>
      db.execute<{ hours: number }>(
        sql`select round(extract(epoch from next_attempt_at - now()) / 3600)::int as hours from deliveries where event_id = ${eventId}`,
      ),
    );
    expect(due.rows[0]?.hours).toBe(24);
  });

  it('a message that comes back before its delivery is due goes back for the rest, at most 12 hours a trip', async () => {
    const { endpoint, eventId, message } = await pendingDelivery();
    await dueIn(eventId, 100);
    expect(await consumeOne('webhook-deliveries', message)).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 100 },
    });
    await dueIn(eventId, 86_400);
    expect((await consumeOne('webhook-deliveries', message)).retriedWith).toEqual({ delaySeconds: 43_200 });
    expect(await received(endpoint.id)).toEqual([]);
    // Due now (within the claim's tolerance): sent.
    await dueIn(eventId, 1);
    expect(await consumeOne('webhook-deliveries', message)).toMatchObject({ acked: true });
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});

describe('what happens to a delivery while its attempt is in flight', () => {
  it('deactivating the webhook: the delivery stays cancelled, the attempt is logged, nothing is retried', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 500, delayMs: 1500 }]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    const inFlight = consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    const patched = await deactivate(account.token, webhook.id);
    expect(patched.status).toBe(200);
    expect(await inFlight).toEqual({ acked: true, retriedWith: undefined });
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({ status: 'cancelled', attempts: 1, last_http_status: 500 }),
    ]);
  });

  it('redelivering it: the new series waits for the attempt instead of sending alongside, and the attempt still counts', async () => {
    const account = await createTestAccount();
    // A 410 from the attempt in flight: it must still deactivate the webhook though the series changed.
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 410, delayMs: 1500 }]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    const inFlight = consumeOne('webhook-deliveries', { deliveryId, series: 1 });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    const redelivered = await throughWorker(
      webhookRequest(undefined, {
        token: account.token,
        path: `/webhooks/${webhook.id}/deliveries/${deliveryId}/redeliver`,
        rawBody: null,
      }),
    );
    expect(redelivered.status).toBe(202);
    // The new series' message (on the real queue) finds the lease held and waits.
    await pause(500);
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await inFlight).toEqual({ acked: true, retriedWith: undefined });
    expect(await webhookState(webhook.id)).toMatchObject({ is_active: false, consecutive_failures: 1 });
    // The new series, handed over now rather than after the lease: the webhook is inactive, so cancelled.
    expect(await consumeOne('webhook-deliveries', { deliveryId, series: 2 })).toMatchObject({ acked: true });
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'cancelled', series: 2 })]);
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});

describe('a receiver answering with a NUL byte', () => {
  it('is recorded (the byte replaced), not retried for ever', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200, body: 'ok\u0000done' }]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    expect(await consumeOne('webhook-deliveries', { deliveryId, series: 1 })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    const excerpt = await withDatabase((db) =>
      db.execute<{ response_excerpt: string }>(
        sql`select response_excerpt from delivery_attempts where delivery_id = ${deliveryId}::uuid`,
      ),
    );
    expect(excerpt.rows[0]?.response_excerpt).toBe('ok\ufffddone');
  });
});

describe('the crons: hourly purge, minute sweep', () => {
  it('drops events older than 30 days, with their deliveries and attempts, and keeps younger ones', async () => {
    const account = await createTestAccount();
    await webhookWithReceiver(account.token);
    const old = await unqueuedDelivery(account.accountId);
    const young = await unqueuedDelivery(account.accountId);
    await withDatabase(async (db) => {
      await db.execute(
        sql`update deliveries set status = 'succeeded' where event_id in (${old.eventId}, ${young.eventId})`,
      );
      await db.execute(sql`update events set created_at = now() - interval '31 days' where id = ${old.eventId}`);
      await db.execute(sql`update events set created_at = now() - interval '29 days' where id = ${young.eventId}`);
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: PURGE_CRON, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const events = await withDatabase((db) =>
      db.execute<{ id: string }>(sql`select id from events where id in (${old.eventId}, ${young.eventId})`),
    );
    expect(events.rows.map((row) => row.id)).toEqual([young.eventId]);
    expect(await deliveriesOf({ eventId: old.eventId })).toEqual([]);
    expect(await deliveriesOf({ eventId: young.eventId })).toHaveLength(1);
  });

  it('leaves a stranded delivery someone holds for the next sweep instead of waiting for it', async () => {
    const account = await createTestAccount();
    await webhookWithReceiver(account.token);
    const held = await unqueuedDelivery(account.accountId);
    const free = await unqueuedDelivery(account.accountId);
    await withDatabase((db) =>
      db.execute(
        sql`update deliveries set created_at = now() - interval '1 hour' where event_id in (${held.eventId}, ${free.eventId})`,
      ),
    );
    const holding = holdRowLock(sql`select id from deliveries where id = ${held.deliveryId}::uuid for update`, 2);
    await pause(300);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const queued = await withDatabase((db) =>
      db.execute<{ id: string }>(
        sql`select id::text from deliveries where id in (${held.deliveryId}::uuid, ${free.deliveryId}::uuid) and enqueued_at is not null`,
      ),
    );
    // On PGlite the sweep runs after the holding transaction, when there is nothing left to skip.
    expect(queued.rows.map((row) => row.id).sort()).toEqual(
      isPostgres ? [free.deliveryId] : [free.deliveryId, held.deliveryId].sort(),
    );
    await holding;
  });

  it('puts a pending delivery that lost its message back on the queue, and it is delivered once', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const { eventId } = await unqueuedDelivery(account.accountId);
    await withDatabase((db) =>
      db.execute(sql`update deliveries set created_at = now() - interval '1 hour' where event_id = ${eventId}`),
    );
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]),
    );
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});
