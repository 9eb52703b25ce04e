// Issue 16, finding 3: a batch no longer ends with its slowest attempt. Once only attempts that have
// waited long enough for their receiver are left (DETACH_AFTER_MS, or longer when the rest of the
// timeout would not fit in the background budget: detachAfterMs), the handler returns (the queue takes
// the batch as done: queue_consumer_no_wait_for_wait_until in wrangler.toml) and those attempts, their
// records and their retries go on in ctx.waitUntil. Most tests drive the handler with a recording queue
// binding to see the order of things; the last runs Miniflare's real queues: the next batch is not held
// by a hang.
import { waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { DETACH_AFTER_MS, DETACHED_BUDGET_MS } from '../src/deliveries/deliver.ts';
import {
  deliveriesOf,
  eventually,
  markProven,
  publish,
  received,
  recordingQueue,
  setTimeoutMs,
  startBatch,
  unqueuedDelivery,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';

vi.setConfig({ testTimeout: 30_000 });

/** One batch of these delivery messages on the main queue; resolves when the handler returns. */
const startDeliveries = (bodies: unknown[], overrides: Partial<Env> = {}) =>
  startBatch('webhook-deliveries', bodies, { overrides });

/**
 * A timeout whose rest fits in the background budget once DETACH_AFTER_MS has passed, so a send may
 * detach then (the default 30 s would make it wait 5 s).
 */
const detachableTimeout = (...webhookIds: string[]) => setTimeoutMs(DETACHED_BUDGET_MS, ...webhookIds);

describe('an attempt that outlives its batch', () => {
  it('the handler returns while the receiver still takes its time; the attempt is recorded after, and its retry comes back as a new message', async () => {
    const account = await createTestAccount();
    const slowAnswer = DETACH_AFTER_MS + 700;
    const { webhook, endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 503, delayMs: slowAnswer }]);
    await detachableTimeout(webhook.id);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    const main = recordingQueue();
    const { ctx, retries } = await startDeliveries([{ deliveryId, series: 1 }], { WEBHOOK_DELIVERIES: main.queue });
    // Returned: the receiver has the request and has not answered, so nothing is recorded yet.
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 1, last_http_status: null }),
    ]);
    expect(main.sends).toEqual([]);
    await waitOnExecutionContext(ctx);
    // The 503 recorded in the background, and the retry due in a second (the schedule in tests) sent as a
    // new message: a retry of a message whose batch has been taken as done would be lost.
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 1, last_http_status: 503 }),
    ]);
    expect(main.sends).toEqual([{ body: { deliveryId, series: 1 }, options: { delaySeconds: 1 } }]);
    expect(retries[0]).not.toHaveBeenCalled();
  });

  it('a send whose timeout would not fit in the background budget holds the batch until it ends', async () => {
    const account = await createTestAccount();
    // The default timeout (30 s): it may detach only after 5 s, and this receiver answers within 1 s.
    const { endpoint } = await webhookWithReceiver(account.token, {}, [
      { status: 503, delayMs: DETACH_AFTER_MS + 750 },
    ]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    const main = recordingQueue();
    const { ctx, retries } = await startDeliveries([{ deliveryId, series: 1 }], { WEBHOOK_DELIVERIES: main.queue });
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ last_http_status: 503 })]);
    expect(retries[0]).toHaveBeenCalledWith({ delaySeconds: 1 });
    await waitOnExecutionContext(ctx);
    expect(main.sends).toEqual([]);
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('a batch whose attempts all answer in time waits for them and hands retries back with the message', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token, {}, [{ status: 503 }]);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    const main = recordingQueue();
    const { ctx, retries } = await startDeliveries([{ deliveryId, series: 1 }], { WEBHOOK_DELIVERIES: main.queue });
    // Recorded before the handler returned.
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ last_http_status: 503 })]);
    await waitOnExecutionContext(ctx);
    expect(retries[0]).toHaveBeenCalledWith({ delaySeconds: 1 });
    expect(main.sends).toEqual([]);
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('a slow attempt does not end the batch while other messages are still to be sent or recorded', async () => {
    const account = await createTestAccount();
    const slow = await webhookWithReceiver(account.token, { events: ['INTERVIEW_COMPLETED'] }, [
      { status: 200, delayMs: DETACH_AFTER_MS + 1000 },
    ]);
    await detachableTimeout(slow.webhook.id);
    // Two webhooks that answer in under DETACH_AFTER_MS (each may have 3 in flight), 3 deliveries each:
    // more messages than the other 4 lanes, so the last are still in flight when the slow one has waited
    // DETACH_AFTER_MS.
    const fastHooks = [];
    const fastDeliveries = [];
    for (const type of ['ANALYSIS_FAILED', 'ANALYSIS_COMPLETED'] as const) {
      fastHooks.push(
        await webhookWithReceiver(account.token, { events: [type] }, [
          { status: 200, delayMs: (DETACH_AFTER_MS * 3) / 5 },
        ]),
      );
      for (let count = 0; count < 3; count++) fastDeliveries.push(await unqueuedDelivery(account.accountId, type));
    }
    const slowDelivery = await unqueuedDelivery(account.accountId);
    const { ctx } = await startDeliveries(
      [slowDelivery, ...fastDeliveries].map(({ deliveryId }) => ({ deliveryId, series: 1 })),
    );
    // Every fast one was sent and recorded before the handler returned; the slow one goes on after it.
    for (const hook of fastHooks) expect(await received(hook.endpoint.id)).toHaveLength(3);
    for (const { eventId } of fastDeliveries) {
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    }
    expect(await deliveriesOf({ eventId: slowDelivery.eventId })).toEqual([
      expect.objectContaining({ status: 'pending' }),
    ]);
    await waitOnExecutionContext(ctx);
    expect(await deliveriesOf({ eventId: slowDelivery.eventId })).toEqual([
      expect.objectContaining({ status: 'succeeded', attempts: 1 }),
    ]);
    expect(await received(slow.endpoint.id)).toHaveLength(1);
  });

  it('every lane in a long send, with messages still to claim: the batch waits until those are handled', async () => {
    const account = await createTestAccount();
    // Two slow webhooks with 3 and 2 deliveries: all five lanes wait for them; three fast messages wait.
    const slowHooks = [];
    const slowDeliveries = [];
    for (const [type, count] of [
      ['INTERVIEW_COMPLETED', 3],
      ['INTERVIEW_STARTED', 2],
    ] as const) {
      const hook = await webhookWithReceiver(account.token, { events: [type] }, [
        { status: 200, delayMs: DETACH_AFTER_MS + 750 },
      ]);
      await detachableTimeout(hook.webhook.id);
      slowHooks.push(hook);
      for (let index = 0; index < count; index++) slowDeliveries.push(await unqueuedDelivery(account.accountId, type));
    }
    const fast = await webhookWithReceiver(account.token, { events: ['ANALYSIS_FAILED'] });
    const fastDeliveries = [];
    for (let index = 0; index < 3; index++)
      fastDeliveries.push(await unqueuedDelivery(account.accountId, 'ANALYSIS_FAILED'));
    const { ctx } = await startDeliveries(
      [...slowDeliveries, ...fastDeliveries].map(({ deliveryId }) => ({ deliveryId, series: 1 })),
    );
    // The fast ones were sent (once a slow one had answered and freed a lane) and recorded before the
    // handler returned: it did not return while they waited, though every lane was in a long send.
    expect(await received(fast.endpoint.id)).toHaveLength(3);
    for (const { eventId } of fastDeliveries) {
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    }
    await waitOnExecutionContext(ctx);
    for (const { eventId } of slowDeliveries) {
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
    }
  });

  it('through the real queues: a delivery published while another webhook hangs arrives before that hang ends', async () => {
    const account = await createTestAccount();
    // Both have answered before, so the fan-out puts their deliveries on the main queue.
    const hanging = await webhookWithReceiver(account.token, { events: ['INTERVIEW_COMPLETED'] }, [
      { status: 200, delayMs: 2500 },
    ]);
    const healthy = await webhookWithReceiver(account.token, { events: ['ANALYSIS_FAILED'] });
    await markProven(hanging.webhook.id, healthy.webhook.id);
    await detachableTimeout(hanging.webhook.id);
    const hangingEvent = await publish({ accountId: account.accountId, type: 'INTERVIEW_COMPLETED' });
    await eventually(async () => expect(await received(hanging.endpoint.id)).toHaveLength(1));
    // The hang's batch is under way; this event's message is the queue's next batch.
    await publish({ accountId: account.accountId, type: 'ANALYSIS_FAILED' });
    await eventually(async () => expect(await received(healthy.endpoint.id)).toHaveLength(1));
    // Were the queue held until the hang's batch ended, the hang would have been answered and recorded by now.
    expect(await deliveriesOf({ eventId: hangingEvent })).toEqual([
      expect.objectContaining({ status: 'pending', last_http_status: null }),
    ]);
    await eventually(
      async () =>
        expect(await deliveriesOf({ eventId: hangingEvent })).toEqual([
          expect.objectContaining({ status: 'succeeded', attempts: 1 }),
        ]),
      10_000,
    );
  });
});
