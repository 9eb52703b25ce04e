// Test deliveries (POST /webhooks/{id}/test) past their retention, deleted by the hourly purge
// (src/jobs/scheduled.ts, src/deliveries/store/test-retention.ts): each webhook keeps its newest 100,
// none older than 24 hours; a pending or leased one stays whatever its age. Tests beyond the few the
// route allows a minute are stored with the statement the route records them with (recordTestDelivery).
// Other files' purges may run meanwhile: every expectation here holds whichever purge took the rows.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { recordTestDelivery } from '../src/deliveries/store/log.ts';
import { purgeTestDeliveries, TEST_DELIVERIES_KEPT } from '../src/deliveries/store/test-retention.ts';
import worker from '../src/index.ts';
import { PURGE_CRON } from '../src/jobs/scheduled.ts';
import { withDatabase } from './support/database.ts';
import { unqueuedDelivery, webhookWithReceiver } from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, data } from './support/routes.ts';

vi.setConfig({ testTimeout: 60_000 });

const HOUR = 3_600_000;

async function purge(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: PURGE_CRON, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** Stores a test delivery started at `startedAt`, as POST /webhooks/{id}/test does; its delivery id. */
async function storedTest(accountId: string, webhookId: string, startedAt: Date): Promise<string> {
  const deliveryId = crypto.randomUUID();
  const event = {
    type: 'PING' as const,
    occurredAt: startedAt.toISOString(),
    companyId: null,
    data: '{"message":"A test delivery from InstaView"}',
  };
  await withDatabase((db) =>
    recordTestDelivery(
      db,
      { deliveryId, webhookId, accountId, event, startedAt },
      { success: true, httpStatus: 200, durationMs: 5, error: null, responseExcerpt: null },
    ),
  );
  return deliveryId;
}

/** What is left of these deliveries: their rows, their events' rows and their attempts' rows. */
async function leftOf(deliveryIds: string[]) {
  const result = await withDatabase((db) =>
    db.execute<{ deliveries: number; events: number; attempts: number }>(sql`
      select
        (select count(*) from deliveries where id = any(${sql.param(deliveryIds)}::uuid[]))::int as deliveries,
        (select count(*) from events where id = any(${sql.param(deliveryIds.map((id) => `test:${id}`))}::text[]))::int as events,
        (select count(*) from delivery_attempts where delivery_id = any(${sql.param(deliveryIds)}::uuid[]))::int as attempts`),
  );
  return result.rows[0];
}

async function testIdsOf(webhookId: string): Promise<string[]> {
  const result = await withDatabase((db) =>
    db.execute<{ id: string }>(
      sql`select id::text from deliveries where webhook_id = ${webhookId}::uuid and is_test order by created_at, id`,
    ),
  );
  return result.rows.map((row) => row.id);
}

describe('test deliveries past their retention', () => {
  it('keeps each webhook’s newest 100 tests and none older than 24 hours, with their events and attempts', async () => {
    const account = await createTestAccount();
    const { webhook: busy } = await webhookWithReceiver(account.token);
    const { webhook: quiet } = await webhookWithReceiver(account.token);
    // 101 tests in the last hour, oldest first, then 2 through the route: the 3 oldest are over the 100.
    const stored: string[] = [];
    for (let index = 0; index < 101; index++) {
      stored.push(await storedTest(account.accountId, busy.id, new Date(Date.now() - HOUR + index * 1000)));
    }
    for (let index = 0; index < 2; index++) {
      const result = await data<{ success: boolean; deliveryId: string }>(
        await call('POST', `/webhooks/${busy.id}/test`, { token: account.token }),
      );
      expect(result.success).toBe(true);
      stored.push(result.deliveryId);
    }
    const old = await storedTest(account.accountId, quiet.id, new Date(Date.now() - 25 * HOUR));
    const young = await storedTest(account.accountId, quiet.id, new Date(Date.now() - 23 * HOUR));
    // A real delivery of each webhook, done and a day old: kept its 30 days.
    const real = await unqueuedDelivery(account.accountId);
    await withDatabase((db) =>
      db.execute(sql`update deliveries set status = 'succeeded', created_at = now() - interval '25 hours'
        where event_id = ${real.eventId}`),
    );

    await purge();

    expect(await testIdsOf(busy.id)).toEqual(stored.slice(3));
    expect(await leftOf(stored.slice(0, 3))).toEqual({ deliveries: 0, events: 0, attempts: 0 });
    expect(await leftOf(stored.slice(3))).toEqual({ deliveries: 100, events: 100, attempts: 100 });
    expect(await testIdsOf(quiet.id)).toEqual([young]);
    expect(await leftOf([old])).toEqual({ deliveries: 0, events: 0, attempts: 0 });
    const realLeft = await withDatabase((db) =>
      db.execute<{ count: number }>(
        sql`select count(*)::int as count from deliveries where event_id = ${real.eventId}`,
      ),
    );
    expect(realLeft.rows[0]?.count).toBe(2);
    // The delivery log shows the 100 on one page, the newest (the route's) first.
    const page = await data<{ data: { id: string; isTest: boolean }[]; nextCursor: string | null }>(
      await call('GET', `/webhooks/${busy.id}/deliveries?event=PING&limit=100`, { token: account.token }),
    );
    expect(page.data.filter((delivery) => delivery.isTest).map((delivery) => delivery.id)).toEqual(
      stored.slice(3).reverse(),
    );
    expect(page.nextCursor).toBeNull();
  });

  it('never deletes a test that is pending (redelivered) or leased (its attempt in flight), however old', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const tests: string[] = [];
    for (let index = 0; index < 3; index++) {
      tests.push(await storedTest(account.accountId, webhook.id, new Date(Date.now() - 48 * HOUR + index * 1000)));
    }
    const [queued, leased, done] = tests as [string, string, string];
    // As a redeliver leaves them (due in an hour, so no minute sweep sends them meanwhile), one mid-attempt.
    await withDatabase((db) =>
      db.execute(sql`update deliveries set status = 'pending', series = series + 1, enqueued_at = now(),
          next_attempt_at = now() + interval '1 hour',
          locked_until = case when id = ${leased}::uuid then now() + interval '10 minutes' end
        where id in (${queued}::uuid, ${leased}::uuid)`),
    );
    // 100 newer tests: the pending two are over the 100 as well as over the 24 hours.
    for (let index = 0; index < TEST_DELIVERIES_KEPT; index++) {
      await storedTest(account.accountId, webhook.id, new Date(Date.now() - HOUR + index * 1000));
    }

    await purge();

    expect(await leftOf([queued, leased])).toEqual({ deliveries: 2, events: 2, attempts: 2 });
    expect(await leftOf([done])).toEqual({ deliveries: 0, events: 0, attempts: 0 });
    expect(await testIdsOf(webhook.id)).toHaveLength(TEST_DELIVERIES_KEPT + 2);
  });

  it('deletes at most its limit a run, oldest first; the next run takes the rest', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    // 29 days old: older than any other test's tests, so these are the ones a limited run takes first.
    const tests: string[] = [];
    for (let index = 0; index < 5; index++) {
      tests.push(await storedTest(account.accountId, webhook.id, new Date(Date.now() - 29 * 24 * HOUR + index * 1000)));
    }
    expect(await withDatabase((db) => purgeTestDeliveries(db, 3))).toBe(3);
    expect(await testIdsOf(webhook.id)).toEqual(tests.slice(3));
    await withDatabase((db) => purgeTestDeliveries(db, 3));
    expect(await testIdsOf(webhook.id)).toEqual([]);
  });
});
