// Issue 16, finding 2: recover must not feed an open circuit, must not queue what is already waiting on
// the queue, and repeated calls must get past the first page.
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { expectError, expectValidationIssues } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import {
  deliveriesOf,
  eventually,
  pause,
  received,
  unqueuedDelivery,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, data } from './support/routes.ts';

vi.setConfig({ testTimeout: 30_000 });

const lastHour = () => new Date(Date.now() - 3_600_000).toISOString();

/** `count` deliveries of the webhook's account, created in order, set to `status` without a message. */
async function settled(accountId: string, count: number, status: 'failed' | 'skipped'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { deliveryId } = await unqueuedDelivery(accountId);
    ids.push(deliveryId);
  }
  await withDatabase((db) =>
    db.execute(sql`update deliveries set status = ${status}::delivery_status, enqueued_at = now()
      where id = any(${sql.param(ids)}::uuid[])`),
  );
  return ids;
}

describe('POST /webhooks/{id}/recover and the circuit', () => {
  it('409 CIRCUIT_OPEN while the circuit is open, with when it opened and when a probe may go; nothing queued', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const ids = await settled(account.accountId, 3, 'skipped');
    const openedAt = await withDatabase(async (db) => {
      const result = await db.execute<{ opened: string }>(sql`
        update webhooks set circuit_opened_at = now() - interval '10 seconds', consecutive_failures = 3
        where id = ${webhook.id}::uuid
        returning to_char(circuit_opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as opened`);
      return result.rows[0]?.opened;
    });
    const response = await call('POST', `/webhooks/${webhook.id}/recover`, {
      token: account.token,
      body: { since: lastHour() },
    });
    const error = await expectError(response, 409, 'CIRCUIT_OPEN');
    // Tests run with a 60-second cool-down (vitest.config.ts).
    expect(error.error.details).toEqual({
      openedAt,
      nextProbeAt: new Date(Date.parse(openedAt ?? '') + 60_000).toISOString(),
    });
    await pause(1500);
    expect(await received(endpoint.id)).toEqual([]);
    const stored = await deliveriesOf({ webhookId: webhook.id });
    expect(stored.map(({ id, status, series }) => ({ id, status, series }))).toEqual(
      ids.map((id) => ({ id, status: 'skipped', series: 1 })),
    );
  });

  it('never queues a delivery the fan-out put on the queue, though its queued mark was lost', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    // Pending and never marked queued: the fan-out sent its message, then could not mark it.
    const { eventId } = await unqueuedDelivery(account.accountId);
    const response = await call('POST', `/webhooks/${webhook.id}/recover`, {
      token: account.token,
      body: { since: lastHour() },
    });
    expect(await data(response, 202)).toEqual({ count: 0, nextCursor: null });
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'pending', series: 1 })]);
  });
});

describe('POST /webhooks/{id}/recover, page by page', () => {
  it('takes `limit` at a time; nextCursor goes on past them though they failed again', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(
      account.token,
      {},
      Array.from({ length: 10 }, () => ({ status: 500 })),
    );
    await withDatabase((db) => db.execute(sql`update webhooks set max_retries = 0 where id = ${webhook.id}::uuid`));
    const ids = await settled(account.accountId, 3, 'failed');
    const since = lastHour();
    const recover = (body: Record<string, unknown>) =>
      call('POST', `/webhooks/${webhook.id}/recover`, { token: account.token, body: { since, ...body } });
    const first = await data<{ count: number; nextCursor: string | null }>(await recover({ limit: 2 }), 202);
    expect(first).toEqual({ count: 2, nextCursor: expect.any(String) });
    // Sent again and failed again: without the cursor the next call would take the same two.
    await eventually(async () => {
      const stored = await deliveriesOf({ webhookId: webhook.id });
      expect(stored.map(({ status, series }) => ({ status, series }))).toEqual([
        { status: 'failed', series: 2 },
        { status: 'failed', series: 2 },
        { status: 'failed', series: 1 },
      ]);
    });
    const second = await data(await recover({ limit: 2, cursor: first.nextCursor }), 202);
    expect(second).toEqual({ count: 1, nextCursor: null });
    await eventually(async () =>
      expect((await deliveriesOf({ webhookId: webhook.id })).map(({ id, series }) => ({ id, series }))).toEqual([
        { id: ids[0], series: 2 },
        { id: ids[1], series: 2 },
        { id: ids[2], series: 2 },
      ]),
    );
  });

  it('refuses a cursor issued for other filters, and a limit out of bounds', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    await settled(account.accountId, 2, 'failed');
    const since = lastHour();
    const recover = (body: Record<string, unknown>) =>
      call('POST', `/webhooks/${webhook.id}/recover`, { token: account.token, body: { since, ...body } });
    const { nextCursor } = await data<{ nextCursor: string }>(await recover({ limit: 1 }), 202);
    const issues = await expectValidationIssues(await recover({ cursor: nextCursor, statuses: ['skipped'] }));
    expect(issues.map((issue) => issue.path)).toEqual(['cursor']);
    for (const limit of [0, 1001, 1.5]) {
      expect((await expectValidationIssues(await recover({ limit }))).map((issue) => issue.path)).toEqual(['limit']);
    }
  });
});
