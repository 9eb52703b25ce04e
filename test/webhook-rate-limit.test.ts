// Issue 16: a webhook's own delivery rate limit (rateLimitPerSecond). Over the rate, deliveries wait
// their turn: none fails, none counts toward the circuit, none is lost, and the receiver never sees more
// than the rate (+1) in any one second.
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { expectValidationIssues } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import {
  backdateCircuit,
  consumeBatch,
  consumeOne,
  deliveriesOf,
  eventually,
  publish,
  received,
  unqueuedDelivery,
  webhookState,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, create, data } from './support/routes.ts';

vi.setConfig({ testTimeout: 60_000 });

/** The most requests that arrived within any one second. */
function mostInOneSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let start = 0; start < sorted.length; start++) {
    let end = start;
    while (end + 1 < sorted.length && (sorted[end + 1] ?? 0) - (sorted[start] ?? 0) < 1000) end++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('rateLimitPerSecond', () => {
  it('is set on create and PATCH (null clears it), shown on the resource, 1 to 1000', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { rateLimitPerSecond: 5 });
    expect(webhook.rateLimitPerSecond).toBe(5);
    const patch = (body: unknown) => call('PATCH', `/webhooks/${webhook.id}`, { token: account.token, body });
    expect(await data(await patch({ rateLimitPerSecond: 1000 }))).toMatchObject({ rateLimitPerSecond: 1000 });
    expect(await data(await patch({ rateLimitPerSecond: null }))).toMatchObject({ rateLimitPerSecond: null });
    expect((await create(account)).rateLimitPerSecond).toBeNull();
    for (const bad of [0, 1001, 1.5, '5']) {
      const issues = await expectValidationIssues(await patch({ rateLimitPerSecond: bad }));
      expect(issues.map((issue) => issue.path)).toEqual(['rateLimitPerSecond']);
    }
  });

  it('holds deliveries to the rate: every one sent once, none failed or counted, at most rate + 1 a second', async () => {
    const account = await createTestAccount();
    const rate = 2;
    const { webhook, endpoint } = await webhookWithReceiver(account.token, { rateLimitPerSecond: rate });
    const count = 9;
    for (let i = 0; i < count; i++) await publish({ accountId: account.accountId });
    const got = await eventually(async () => {
      const requests = await received(endpoint.id);
      expect(requests).toHaveLength(count);
      return requests;
    }, 30_000);
    expect(new Set(got.map((request) => request.headers['webhook-id'])).size).toBe(count);
    expect(mostInOneSecond(got.map((request) => request.receivedAt))).toBeLessThanOrEqual(rate + 1);
    // 9 at 2 a second cannot all arrive within 3 seconds.
    const times = got.map((request) => request.receivedAt);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(((count - 1) / rate - 1) * 1000);
    // An attempt is recorded after its receiver has answered: the last one's record may still be on its way.
    await eventually(async () => {
      const stored = await deliveriesOf({ webhookId: webhook.id });
      expect(stored.map((delivery) => [delivery.status, delivery.attempts])).toEqual(
        Array.from({ length: count }, () => ['succeeded', 1]),
      );
    });
    expect((await webhookState(webhook.id))?.consecutive_failures).toBe(0);
  });

  it('a reserved slot its message came back too late for is not sent in: the delivery takes the next free one', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, { rateLimitPerSecond: 2 });
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    // It held the slot of 5 s ago; the webhook's next free slot is 300 ms from now.
    const nextFree = await withDatabase(async (db) => {
      await db.execute(
        sql`update deliveries set rate_slot_at = now() - interval '5 seconds' where id = ${deliveryId}::uuid`,
      );
      const result = await db.execute<{
        next: string;
      }>(sql`update webhooks set rate_next_at = now() + interval '300 milliseconds'
        where id = ${webhook.id}::uuid returning (extract(epoch from rate_next_at) * 1000)::float8::text as next`);
      return Number(result.rows[0]?.next);
    });
    // A rate-limited webhook's deliveries travel the paced queue (their slot waits hold a lane).
    expect(await consumeOne('webhook-deliveries-paced', { deliveryId, series: 1 })).toEqual({
      acked: true,
      retriedWith: undefined,
    });
    const [got] = await received(endpoint.id);
    expect(got?.receivedAt).toBeGreaterThanOrEqual(nextFree);
    // The slot taken moved the next free one on by 1/rate.
    const after = await withDatabase((db) =>
      db.execute<{ next: string }>(
        sql`select (extract(epoch from rate_next_at) * 1000)::float8::text as next from webhooks where id = ${webhook.id}::uuid`,
      ),
    );
    expect(Number(after.rows[0]?.next) - nextFree).toBeCloseTo(500, 0);
  });

  it('deliveries claimed together whose slots are seconds off are all reserved: none busy, none skipped by an open circuit', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, { rateLimitPerSecond: 1 });
    const messages = [];
    for (let count = 0; count < 4; count++) {
      messages.push({ deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 });
    }
    // Its circuit open past its cool-down (the next attempt would be the probe), its next slot 5 s off.
    await backdateCircuit(webhook.id);
    await withDatabase((db) =>
      db.execute(sql`update webhooks set rate_next_at = now() + interval '5 seconds' where id = ${webhook.id}::uuid`),
    );
    const results = await consumeBatch('webhook-deliveries-paced', messages);
    // Each back on the queue a second or more before its slot; nothing sent, skipped, or bounced as busy.
    expect(results.map((result) => result.acked)).toEqual([false, false, false, false]);
    // Slots 1 s apart from 5 s off, each message back a second or more before its own.
    const delays = results.map((result) => result.retriedWith?.delaySeconds ?? 0);
    expect([3, 4]).toContain(delays[0]);
    expect(delays).toEqual([0, 1, 2, 3].map((step) => (delays[0] ?? 0) + step));
    expect((await deliveriesOf({ webhookId: webhook.id })).map((delivery) => delivery.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
    expect(await received(endpoint.id)).toEqual([]);
  });
});
