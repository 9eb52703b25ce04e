// The minute sweep (src/jobs/scheduled.ts): what lost its queue message goes back on the queue. Stored
// events never fanned out (a state change whose message was lost), and pending deliveries whose due
// time, lease included, passed more than STRANDED_AFTER_SECONDS (60) ago. Tests make a row stranded by
// backdating it rather than waiting, and lose a message by never sending it (storeEvent, unqueuedDelivery).
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { storeEvent } from '../src/deliveries/store/events.ts';
import worker from '../src/index.ts';
import { SWEEP_CRON } from '../src/jobs/scheduled.ts';
import { throughWorker } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import {
  consumeOne,
  deliveriesOf,
  eventually,
  pause,
  publishRequest,
  received,
  unqueuedDelivery,
  webhookWithReceiver,
} from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { statementsNamed } from './support/statements.ts';

vi.setConfig({ testTimeout: 30_000 });

async function sweep(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** An event as POST /events stores it, whose queue message was lost (never sent). */
async function acceptedEvent(accountId: string): Promise<string> {
  const id = crypto.randomUUID();
  const stored = await withDatabase((db) =>
    storeEvent(db, {
      id,
      accountId,
      companyId: null,
      type: 'INTERVIEW_COMPLETED',
      occurredAt: new Date().toISOString(),
      data: '{"candidateId":"c-1"}',
    }),
  );
  expect(stored).toBe(true);
  return id;
}

async function eventState(id: string) {
  const result = await withDatabase((db) =>
    db.execute<{ fanned_out: boolean; requeued: boolean }>(
      sql`select fanned_out_at is not null as fanned_out, requeued_at is not null as requeued from events where id = ${id}`,
    ),
  );
  return result.rows[0];
}

const backdate = (table: 'events' | 'deliveries', column: string, eventId: string, interval: string) =>
  withDatabase((db) =>
    db.execute(
      sql`update ${sql.raw(table)} set ${sql.raw(column)} = now() - ${interval}::interval where ${sql.raw(table === 'events' ? 'id' : 'event_id')} = ${eventId}`,
    ),
  );

describe('the minute sweep', () => {
  it('fans out an accepted event whose message was lost, and it is delivered once', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const eventId = await acceptedEvent(account.accountId);
    // Within its margin the message may only be late: left alone.
    await sweep();
    expect(await eventState(eventId)).toEqual({ fanned_out: false, requeued: false });
    await backdate('events', 'created_at', eventId, '2 minutes');
    await sweep();
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    expect(await eventState(eventId)).toEqual({ fanned_out: true, requeued: true });
    // Recorded once the receiver has answered, so perhaps a moment after it has the request.
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]),
    );
  });

  it('queues the deliveries of a POST /events whose messages never went (the queue refused), and each is delivered once', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const refusing = {
      sendBatch: async () => {
        throw new Error('queue unavailable');
      },
    } as unknown as Queue;
    // Every delivery queue refuses (a new webhook's deliveries go on the slow lane: queues.ts UNPROVEN).
    const response = await throughWorker(publishRequest({ accountId: account.accountId }), {
      WEBHOOK_DELIVERIES: refusing,
      WEBHOOK_DELIVERIES_SLOW: refusing,
      WEBHOOK_DELIVERIES_PACED: refusing,
    });
    expect(response.status).toBe(202);
    const { eventId } = ((await response.json()) as { data: { eventId: string } }).data;
    // Stored with its delivery before the 202; its message never went, so it is not marked queued.
    const [stored] = await deliveriesOf({ eventId });
    expect(stored).toMatchObject({ status: 'pending', attempts: 0 });
    await pause(500);
    expect(await received(endpoint.id)).toEqual([]);
    await backdate('deliveries', 'created_at', eventId, '1 hour');
    await sweep();
    await eventually(async () =>
      expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]),
    );
    expect(await received(endpoint.id)).toHaveLength(1);
  });

  it('puts an event back on the queue once per margin: its lease holds off the next sweeps', async () => {
    const account = await createTestAccount();
    await webhookWithReceiver(account.token);
    const eventId = await acceptedEvent(account.accountId);
    await backdate('events', 'created_at', eventId, '1 hour');
    await withDatabase((db) => db.execute(sql`update events set requeued_at = now() where id = ${eventId}`));
    await sweep();
    await pause(1000);
    expect(await eventState(eventId)).toEqual({ fanned_out: false, requeued: true });
    expect(await deliveriesOf({ eventId })).toEqual([]);
    // Its lease run out: taken.
    await backdate('events', 'requeued_at', eventId, '2 minutes');
    await sweep();
    await eventually(async () => expect(await eventState(eventId)).toEqual({ fanned_out: true, requeued: true }));
  });

  it('a stored event fanned out twice (a late message after the sweep) creates and sends nothing new', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const eventId = await acceptedEvent(account.accountId);
    const message = { storedEventId: eventId, accountId: account.accountId };
    expect(await consumeOne('webhook-events', message)).toEqual({ acked: true, retriedWith: undefined });
    expect(await consumeOne('webhook-events', message)).toEqual({ acked: true, retriedWith: undefined });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    await pause(1500);
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toHaveLength(1);
    // The second fan-out was one statement that found the event fanned out and nothing left to queue.
    const statements = await statementsNamed(`webhooks fan-out ${account.accountId}:${eventId}`);
    expect(statements).toHaveLength(3);
  });

  it('leaves a delivery whose attempt holds a lease until the lease and the margin have passed', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const { eventId } = await unqueuedDelivery(account.accountId);
    await backdate('deliveries', 'created_at', eventId, '1 hour');
    // An attempt in flight (or crashed) whose lease ended 30 s ago: within the margin.
    await backdate('deliveries', 'locked_until', eventId, '30 seconds');
    await sweep();
    await pause(1000);
    expect(await received(endpoint.id)).toHaveLength(0);
    await backdate('deliveries', 'locked_until', eventId, '61 seconds');
    await sweep();
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
  });

  it('takes a retry only once its due time is past the margin', async () => {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const { eventId } = await unqueuedDelivery(account.accountId);
    await backdate('deliveries', 'created_at', eventId, '1 hour');
    await backdate('deliveries', 'next_attempt_at', eventId, '10 seconds');
    await sweep();
    await pause(1000);
    expect(await received(endpoint.id)).toHaveLength(0);
    await backdate('deliveries', 'next_attempt_at', eventId, '90 seconds');
    await sweep();
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
  });

  it('is one statement when there is nothing to take', async () => {
    const name = `webhooks cron ${SWEEP_CRON}`;
    const before = (await statementsNamed(name)).length;
    await sweep();
    const statements = (await statementsNamed(name)).slice(before);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toContain('fanned_out_at is null');
  });
});
