// What exhausted the queues' own retries (max_retries in wrangler.toml): the service failed on it every
// time, for hours. Logged as errors; a delivery is marked failed, so it shows in its log and can be
// sent again (redeliver, recover) instead of staying pending unseen.
import { createDatabase } from '../db/client.ts';
import { logError } from '../lib/log.ts';
import { isDeliveryMessage } from './messages.ts';
import { markAbandoned } from './store/attempts.ts';

export async function consumeDeadEvents(batch: MessageBatch<unknown>): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body as { id?: unknown; storedEventId?: unknown; accountId?: unknown } | null;
    const eventId = body?.storedEventId ?? body?.id;
    // An event POST /events stored stays in Postgres, not fanned out: the minute sweep tries it again.
    logError('event abandoned after its retries: never fanned out', {
      queueMessageId: message.id,
      eventId: typeof eventId === 'string' ? eventId : undefined,
      accountId: typeof body?.accountId === 'string' ? body.accountId : undefined,
    });
    message.ack();
  }
}

export async function consumeDeadDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDatabase(env, 'webhooks dead letters');
  for (const message of batch.messages) {
    if (!isDeliveryMessage(message.body)) {
      message.ack();
      continue;
    }
    logError('delivery abandoned after its retries', { deliveryId: message.body.deliveryId });
    try {
      await markAbandoned(db, message.body.deliveryId, message.body.series);
      message.ack();
    } catch {
      message.retry({ delaySeconds: 60 });
    }
  }
}
