// The webhook-events consumer: each event is fanned out in one statement (store.fanOut), then one
// message per delivery goes onto the webhook-deliveries queue, 100 at a time, each batch then marked
// enqueued (one statement). If anything fails the event's message is retried: the event is already
// stored then, so the retry creates nothing new and sends only what was not marked enqueued.
import * as z from 'zod/mini';
import { createDatabase, type Database } from '../db/client.ts';
import { isDataException } from '../db/errors.ts';
import { toEventMessage } from '../events/message.ts';
import { publishedEventSchema } from '../events/schema.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { backoffSeconds, type DeliveryMessage, MAX_BATCH } from './messages.ts';
import { isStateChangeMessage, queueForOperations } from './state-events.ts';
import { fanOut, markEnqueued, type PublishedEvent } from './store/events.ts';
import type { StateEvent } from './store/state-changes.ts';

async function fanOutEvent(db: Database, deliveriesQueue: Queue<DeliveryMessage>, event: PublishedEvent) {
  const pending = await fanOut(db, event);
  for (let start = 0; start < pending.length; start += MAX_BATCH) {
    const batch = pending.slice(start, start + MAX_BATCH);
    await deliveriesQueue.sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
    await markEnqueued(
      db,
      batch.map(({ id }) => id),
    );
  }
  return pending.length;
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deliveriesQueue = env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>;
  for (const message of batch.messages) {
    if (isStateChangeMessage(message.body)) {
      await fanOutStateEvent(env, message, message.body.event);
      continue;
    }
    const parsed = z.safeParse(publishedEventSchema, message.body);
    if (!parsed.success) {
      // Retrying cannot make it valid: logged (ids and paths only, never the data) and dropped.
      logError('event refused', {
        queueMessageId: message.id,
        issues: parsed.error.issues.map((issue) => issue.path.join('.') || '(event)').join(', '),
      });
      message.ack();
      continue;
    }
    // The message id stands in for an event id the producer did not set: stable across redeliveries.
    const event = toEventMessage(parsed.data, message.id, new Date(message.timestamp));
    try {
      // Named per event, so the local SQL endpoint can count each fan-out's statements.
      const db = createDatabase(env, `webhooks fan-out ${event.accountId}:${event.id}`);
      const queued = await fanOutEvent(db, deliveriesQueue, { ...event, data: JSON.stringify(event.data) });
      logInfo('event fanned out', {
        eventId: event.id,
        accountId: event.accountId,
        type: event.type,
        deliveries: queued,
      });
      message.ack();
    } catch (error) {
      if (isDataException(error)) {
        // Postgres refused a value the schema let through: no retry can store it.
        logError('event refused by the database: not fanned out', {
          eventId: event.id,
          accountId: event.accountId,
          ...describeError(error),
        });
        message.ack();
        continue;
      }
      logError('event fan-out failed; retrying', {
        eventId: event.id,
        accountId: event.accountId,
        attempts: message.attempts,
        ...describeError(error),
      });
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}

/** A state-change event, stored already: fanned out as any event, then queued for the operations endpoint. */
async function fanOutStateEvent(env: Env, message: Message<unknown>, event: StateEvent): Promise<void> {
  try {
    const db = createDatabase(env, `webhooks fan-out ${event.accountId}:${event.id}`);
    const queued = await fanOutEvent(db, env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>, event);
    await queueForOperations(env, event);
    logInfo('event fanned out', {
      eventId: event.id,
      accountId: event.accountId,
      type: event.type,
      deliveries: queued,
    });
    message.ack();
  } catch (error) {
    logError('event fan-out failed; retrying', {
      eventId: event.id,
      accountId: event.accountId,
      attempts: message.attempts,
      ...describeError(error),
    });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}
