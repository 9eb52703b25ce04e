// The webhook-events consumer. A message is either the key of an event stored already (POST /events, or
// a state change: fanned out from its row, store.fanOutStored), or a whole event a Worker sent through
// its producer binding (stored and fanned out at once: store.fanOut). Either way one statement creates
// the deliveries, then one message per delivery goes onto the webhook-deliveries queue (or the slow
// lane's, for a webhook in it), 100 at a time, each batch then marked enqueued (one statement). If anything fails the event's message is retried: the
// event is fanned out already then, so the retry creates nothing new and sends only what was not
// marked enqueued.
import * as z from 'zod/mini';
import { createDatabase, type Database } from '../db/client.ts';
import { isDataException } from '../db/errors.ts';
import { isStoredEventMessage, toEventMessage } from '../events/message.ts';
import { publishedEventSchema } from '../events/schema.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { enqueueDeliveries } from './enqueue.ts';
import { backoffSeconds } from './messages.ts';
import { isStateChangeMessage, queueForOperations } from './state-events.ts';
import { type FannedOut, fanOut, fanOutStored } from './store/events.ts';

/** What a message asks to fan out: the event's key and type for the log, and the statement that does it. */
interface FanOutJob {
  log: { eventId: string; accountId: string; type?: string };
  fanOut: (db: Database) => Promise<FannedOut[]>;
  /** After the deliveries are queued, before the ack (a state-change event's copy for operations). */
  afterQueued?: () => Promise<void>;
}

/**
 * Runs one message's fan-out and queues its deliveries, then acks; if anything fails the message comes
 * back (nothing is lost: a second fan-out creates nothing new and queues only what was not marked).
 */
async function fanOutMessage(env: Env, message: Message<unknown>, job: FanOutJob): Promise<void> {
  try {
    // Named per event, so the local SQL endpoint can count each fan-out's statements.
    const db = createDatabase(env, `webhooks fan-out ${job.log.accountId}:${job.log.eventId}`);
    const queued = await enqueueDeliveries(env, db, await job.fanOut(db));
    await job.afterQueued?.();
    logInfo('event fanned out', { ...job.log, deliveries: queued });
    message.ack();
  } catch (error) {
    if (isDataException(error)) {
      // Postgres refused a value the schema let through: no retry can store it.
      logError('event refused by the database: not fanned out', { ...job.log, ...describeError(error) });
      message.ack();
      return;
    }
    logError('event fan-out failed; retrying', { ...job.log, attempts: message.attempts, ...describeError(error) });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

/**
 * What one webhook-events message asks for: a state-change event the statement that decided it stored
 * (store/state-changes.ts: fanned out from its row as a POST /events event is, the minute sweep behind it
 * if this message is lost, then its copy queued for the operations endpoint, if one is configured); an
 * event POST /events stored (fanned out from its row); or a whole event a Worker sent (stored and fanned
 * out at once). Null for a message that can never be valid.
 */
function fanOutJob(env: Env, message: Message<unknown>): FanOutJob | null {
  const body = message.body;
  if (isStateChangeMessage(body)) {
    const { event } = body;
    return {
      log: { eventId: event.id, accountId: event.accountId, type: event.type },
      fanOut: (db) => fanOutStored(db, event),
      afterQueued: () => queueForOperations(env, event),
    };
  }
  if (isStoredEventMessage(body)) {
    const key = { accountId: body.accountId, id: body.storedEventId };
    return { log: { eventId: key.id, accountId: key.accountId }, fanOut: (db) => fanOutStored(db, key) };
  }
  const parsed = z.safeParse(publishedEventSchema, body);
  if (!parsed.success) {
    // Retrying cannot make it valid: logged (ids and paths only, never the data) and dropped.
    logError('event refused', {
      queueMessageId: message.id,
      issues: parsed.error.issues.map((issue) => issue.path.join('.') || '(event)').join(', '),
    });
    return null;
  }
  // The message id stands in for an event id the producer did not set: stable across redeliveries.
  const event = toEventMessage(parsed.data, message.id, new Date(message.timestamp));
  return {
    log: { eventId: event.id, accountId: event.accountId, type: event.type },
    fanOut: (db) => fanOut(db, { ...event, data: JSON.stringify(event.data) }),
  };
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const job = fanOutJob(env, message);
    if (job === null) message.ack();
    else await fanOutMessage(env, message, job);
  }
}
