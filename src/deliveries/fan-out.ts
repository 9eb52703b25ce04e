// The webhook-events consumer. A message is either the key of an event POST /events stored already
// (fanned out from its row: store.fanOutStored), or a whole event a Worker sent through its producer
// binding (stored and fanned out at once: store.fanOut). Either way one statement creates the
// deliveries, then one message per delivery goes onto the webhook-deliveries queue, 100 at a time, each
// batch then marked enqueued (one statement). If anything fails the event's message is retried: the
// event is fanned out already then, so the retry creates nothing new and sends only what was not
// marked enqueued.
import * as z from 'zod/mini';
import { createDatabase, type Database } from '../db/client.ts';
import { isDataException } from '../db/errors.ts';
import { isStoredEventMessage, type StoredEventMessage, toEventMessage } from '../events/message.ts';
import { publishedEventSchema } from '../events/schema.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { backoffSeconds, type DeliveryMessage, MAX_BATCH } from './messages.ts';
import { isStateChangeMessage, queueForOperations } from './state-events.ts';
import { fanOut, fanOutStored, markEnqueued } from './store/events.ts';
import type { StateEvent } from './store/state-changes.ts';

/** Puts the deliveries a fan-out returned on the queue, 100 at a time, each batch then marked enqueued. */
async function enqueueDeliveries(
  db: Database,
  deliveriesQueue: Queue<DeliveryMessage>,
  pending: { id: string; series: number }[],
) {
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
      await consumeStateChange(env, deliveriesQueue, message, message.body.event);
      continue;
    }
    if (isStoredEventMessage(message.body)) {
      await consumeStoredEvent(env, deliveriesQueue, message as Message<StoredEventMessage>);
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
      const queued = await enqueueDeliveries(
        db,
        deliveriesQueue,
        await fanOut(db, { ...event, data: JSON.stringify(event.data) }),
      );
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

/** An event POST /events stored: fanned out from its row; if that fails, retried (and the sweep is behind it). */
async function consumeStoredEvent(
  env: Env,
  deliveriesQueue: Queue<DeliveryMessage>,
  message: Message<StoredEventMessage>,
): Promise<void> {
  const key = { accountId: message.body.accountId, id: message.body.storedEventId };
  try {
    const db = createDatabase(env, `webhooks fan-out ${key.accountId}:${key.id}`);
    const queued = await enqueueDeliveries(db, deliveriesQueue, await fanOutStored(db, key));
    logInfo('event fanned out', { eventId: key.id, accountId: key.accountId, deliveries: queued });
    message.ack();
  } catch (error) {
    logError('event fan-out failed; retrying', {
      eventId: key.id,
      accountId: key.accountId,
      attempts: message.attempts,
      ...describeError(error),
    });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

/**
 * A state-change event the statement that decided it stored (store/state-changes.ts): fanned out from its
 * row as a POST /events event is (the minute sweep takes it if this message is lost), then its copy
 * queued for the operations endpoint, if one is configured.
 */
async function consumeStateChange(
  env: Env,
  deliveriesQueue: Queue<DeliveryMessage>,
  message: Message<unknown>,
  event: StateEvent,
): Promise<void> {
  try {
    const db = createDatabase(env, `webhooks fan-out ${event.accountId}:${event.id}`);
    const queued = await enqueueDeliveries(db, deliveriesQueue, await fanOutStored(db, event));
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
