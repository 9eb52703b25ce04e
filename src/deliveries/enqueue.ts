// Puts a fan-out's deliveries on their queues: the fan-out consumer's, and POST /events's (which fans an
// event out in the statement that stores it).
import type { Database } from '../db/client.ts';
import { type DeliveryMessage, MAX_BATCH } from './messages.ts';
import { type FannedOut, markEnqueued } from './store/events.ts';

/**
 * Puts the deliveries a fan-out returned on the queue, 100 at a time, each batch then marked enqueued:
 * those of webhooks in the slow lane on its queue (so a hanging webhook never joins a main-queue batch).
 */
export async function enqueueDeliveries(env: Env, db: Database, pending: FannedOut[]) {
  for (const slow of [false, true]) {
    const queue = (slow ? env.WEBHOOK_DELIVERIES_SLOW : env.WEBHOOK_DELIVERIES) as Queue<DeliveryMessage>;
    const lane = pending.filter((delivery) => delivery.slow === slow);
    for (let start = 0; start < lane.length; start += MAX_BATCH) {
      const batch = lane.slice(start, start + MAX_BATCH);
      await queue.sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
      await markEnqueued(
        db,
        batch.map(({ id }) => id),
      );
    }
  }
  return pending.length;
}
