// The slow lane (issue 16, finding 3): a webhook whose attempt timed out, or took SLOW_ATTEMPT_MS or
// more, has its deliveries go through the webhook-deliveries-slow queue for a while, so that its hangs
// hold the slow lane's consumers and never a batch of the main queue that healthy webhooks wait behind.
// The routing is asserted with recording queue bindings (deterministic); the last test runs Miniflare's
// real queues end to end. How long healthy deliveries wait beside hanging ones is measured in
// `npm run bench` (the noisy-neighbour workload), not timed here.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { DETACH_AFTER_MS } from '../src/deliveries/deliver.ts';
import { MAX_LANES_PER_WEBHOOK } from '../src/deliveries/store/claims.ts';
import worker from '../src/index.ts';
import { SWEEP_CRON } from '../src/jobs/scheduled.ts';
import { withDatabase } from './support/database.ts';
import {
  consumeOne,
  deliveriesOf,
  eventually,
  markProven,
  publish,
  received,
  recordingQueue,
  setTimeoutMs,
  unqueuedDelivery,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';

async function slowUntil(webhookId: string): Promise<Date | null> {
  const result = await withDatabase((db) =>
    db.execute<{ slow_until: string | null }>(sql`select slow_until::text from webhooks where id = ${webhookId}::uuid`),
  );
  const value = result.rows[0]?.slow_until;
  return value ? new Date(value) : null;
}

async function putInSlowLane(webhookId: string): Promise<void> {
  await withDatabase((db) =>
    db.execute(sql`update webhooks set slow_until = now() + interval '10 minutes' where id = ${webhookId}::uuid`),
  );
}

describe('the slow lane', () => {
  it('an attempt that times out puts its webhook there: its next main-queue message moves over, unsent and uncounted', async () => {
    const account = await createTestAccount();
    // The receiver answers after 1.5 s; the webhook waits half of DETACH_AFTER_MS (timeoutMs is not an API
    // field: set here), so the handler returns with the timeout recorded and the retry handed back.
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 200, delayMs: 1500 }]);
    await setTimeoutMs(DETACH_AFTER_MS / 2, webhook.id);
    expect(await slowUntil(webhook.id)).toBeNull();

    const first = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    expect((await consumeOne('webhook-deliveries', first)).retriedWith).toBeDefined();
    const until = await slowUntil(webhook.id);
    expect(until?.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);

    const second = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    const slow = recordingQueue();
    expect(
      await consumeOne('webhook-deliveries', second, { overrides: { WEBHOOK_DELIVERIES_SLOW: slow.queue } }),
    ).toEqual({ acked: true, retriedWith: undefined });
    expect(slow.sent).toEqual([second]);
    const stored = await deliveriesOf({ webhookId: webhook.id });
    expect(stored.find((delivery) => delivery.id === second.deliveryId)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });
    // One attempt so far: the first. The second's move was no attempt and no failure.
    expect((await received(endpoint.id)).length).toBeLessThanOrEqual(1);

    // On the slow lane's queue it is sent.
    expect((await consumeOne('webhook-deliveries-slow', second)).retriedWith).toBeDefined();
    expect((await deliveriesOf({ webhookId: webhook.id })).find((d) => d.id === second.deliveryId)).toMatchObject({
      attempts: 1,
    });
  });

  it('an attempt in flight for 5 s already puts its webhook there before it ends', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    // A lane whose lease (timeout 30 s + 30 s of margin) began 6 s ago: an attempt still waiting for its answer.
    const lease = new Date(Date.now() + 60_000 - 6_000).toISOString();
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set lanes = jsonb_build_object(gen_random_uuid()::text, ${lease}::text) where id = ${webhook.id}::uuid`,
      ),
    );
    const message = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    const slow = recordingQueue();
    expect(
      await consumeOne('webhook-deliveries', message, { overrides: { WEBHOOK_DELIVERIES_SLOW: slow.queue } }),
    ).toEqual({ acked: true, retriedWith: undefined });
    expect(slow.sent).toEqual([message]);
    expect(await received(endpoint.id)).toEqual([]);
    // One that began 2 s ago does not: the next delivery is sent on the main queue.
    const recent = new Date(Date.now() + 60_000 - 2_000).toISOString();
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set lanes = jsonb_build_object(gen_random_uuid()::text, ${recent}::text) where id = ${webhook.id}::uuid`,
      ),
    );
    const next = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    expect(await consumeOne('webhook-deliveries', next)).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('a prompt answer leaves a webhook out of it', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const message = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
    expect(await consumeOne('webhook-deliveries', message)).toEqual({ acked: true, retriedWith: undefined });
    expect(await slowUntil(webhook.id)).toBeNull();
  });

  it('the fan-out queues a slow webhook’s delivery on the slow lane, a rate-limited one’s on the paced queue, a proven one’s on the main one', async () => {
    const account = await createTestAccount();
    const slowHook = (await webhookWithReceiver(account.token)).webhook;
    const paced = (await webhookWithReceiver(account.token, { rateLimitPerSecond: 5 })).webhook;
    const healthy = (await webhookWithReceiver(account.token)).webhook;
    await putInSlowLane(slowHook.id);
    await markProven(slowHook.id, paced.id, healthy.id);
    const queues = { main: recordingQueue(), slow: recordingQueue(), paced: recordingQueue() };
    const event = {
      id: `slow-${crypto.randomUUID()}`,
      type: 'INTERVIEW_COMPLETED',
      accountId: account.accountId,
      data: {},
    };
    expect(
      await consumeOne('webhook-events', event, {
        overrides: {
          WEBHOOK_DELIVERIES: queues.main.queue,
          WEBHOOK_DELIVERIES_SLOW: queues.slow.queue,
          WEBHOOK_DELIVERIES_PACED: queues.paced.queue,
        },
      }),
    ).toEqual({ acked: true, retriedWith: undefined });
    const [toSlow] = await deliveriesOf({ webhookId: slowHook.id });
    const [toPaced] = await deliveriesOf({ webhookId: paced.id });
    const [toHealthy] = await deliveriesOf({ webhookId: healthy.id });
    expect(queues.slow.sent).toEqual([{ deliveryId: toSlow?.id, series: 1 }]);
    expect(queues.paced.sent).toEqual([{ deliveryId: toPaced?.id, series: 1 }]);
    expect(queues.main.sent).toEqual([{ deliveryId: toHealthy?.id, series: 1 }]);
  });

  it('a webhook that has never answered a delivery with a 2xx has its deliveries put on the slow lane; its first success moves the next ones to the main queue', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const queues = { main: recordingQueue(), slow: recordingQueue() };
    const overrides = { WEBHOOK_DELIVERIES: queues.main.queue, WEBHOOK_DELIVERIES_SLOW: queues.slow.queue };
    const fanOut = async () => {
      const event = {
        id: `new-${crypto.randomUUID()}`,
        type: 'INTERVIEW_COMPLETED',
        accountId: account.accountId,
        data: {},
      };
      expect(await consumeOne('webhook-events', event, { overrides })).toEqual({ acked: true, retriedWith: undefined });
      const [delivery] = await deliveriesOf({ eventId: event.id });
      return { deliveryId: delivery?.id as string, series: 1 };
    };
    const first = await fanOut();
    expect(queues.slow.sent).toEqual([first]);
    expect(queues.main.sent).toEqual([]);
    // Sent on the slow lane, answered at once: the webhook has shown it answers.
    expect(await consumeOne('webhook-deliveries-slow', first)).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await slowUntil(webhook.id)).toBeNull();
    const second = await fanOut();
    expect(queues.main.sent).toEqual([second]);
    expect(queues.slow.sent).toEqual([first]);
  });

  it('a rate-limited webhook’s message on another queue moves to the paced one, unsent', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, { rateLimitPerSecond: 5 });
    await putInSlowLane(webhook.id);
    for (const from of ['webhook-deliveries', 'webhook-deliveries-slow']) {
      const message = { deliveryId: (await unqueuedDelivery(account.accountId)).deliveryId, series: 1 };
      const paced = recordingQueue();
      expect(await consumeOne(from, message, { overrides: { WEBHOOK_DELIVERIES_PACED: paced.queue } })).toEqual({
        acked: true,
        retriedWith: undefined,
      });
      expect(paced.sent).toEqual([message]);
    }
    expect(await received(endpoint.id)).toEqual([]);
  });

  it('a delivery of a webhook in the slow lane reaches its receiver through the real queues', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    await putInSlowLane(webhook.id);
    const eventId = await publish({ type: 'INTERVIEW_COMPLETED', accountId: account.accountId, data: {} });
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]),
    );
    expect(await received(endpoint.id)).toHaveLength(1);
  });
});

describe('the minute sweep and deliveries that wait on purpose', () => {
  async function sweep(): Promise<unknown[]> {
    const recorder = recordingQueue();
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() }),
      { ...env, WEBHOOK_DELIVERIES: recorder.queue },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return recorder.sent;
  }

  it('leaves alone a delivery holding a rate-limit slot still to come, and one just sent back for a free lane', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const throttled = await unqueuedDelivery(account.accountId);
    const busy = await unqueuedDelivery(account.accountId);
    const lost = await unqueuedDelivery(account.accountId);
    // All three made (and queued) an hour ago; one holds a slot 30 s off.
    await withDatabase((db) =>
      db.execute(sql`update deliveries set created_at = now() - interval '1 hour', enqueued_at = now() - interval '1 hour',
        rate_slot_at = case when id = ${throttled.deliveryId}::uuid then now() + interval '30 seconds' end
        where webhook_id = ${webhook.id}::uuid`),
    );
    // Every lane of the webhook taken (leases a minute long): the busy one's message goes back, and says so.
    const held = Object.fromEntries(
      Array.from({ length: MAX_LANES_PER_WEBHOOK }, () => [
        crypto.randomUUID(),
        new Date(Date.now() + 60_000).toISOString(),
      ]),
    );
    await withDatabase((db) =>
      db.execute(sql`update webhooks set lanes = ${JSON.stringify(held)}::jsonb where id = ${webhook.id}::uuid`),
    );
    expect((await consumeOne('webhook-deliveries', { deliveryId: busy.deliveryId, series: 1 })).retriedWith).toEqual({
      delaySeconds: 1,
    });
    const swept = await sweep();
    expect(swept).toContainEqual({ deliveryId: lost.deliveryId, series: 1 });
    expect(swept).not.toContainEqual({ deliveryId: throttled.deliveryId, series: 1 });
    expect(swept).not.toContainEqual({ deliveryId: busy.deliveryId, series: 1 });
  });
});
