// Puts a fan-out's deliveries on their queues: the fan-out consumer's, and POST /events's (which fans an
// event out in the statement that stores it).
import type { Database } from '../db/client.ts';
import { MAX_BATCH } from './messages.ts';
import { deliveryQueue } from './queues.ts';
import { type FannedOut, markEnqueued } from './store/events.ts';

/**
 * Puts the deliveries a fan-out returned on their queues (queues.ts: a paced or slow webhook's never
 * join a main-queue batch), 100 at a time, each batch then marked enqueued.
 */
export async function enqueueDeliveries(env: Env, db: Database, pending: FannedOut[]) {
  for (const queue of ['main', 'slow', 'paced'] as const) {
    const lane = pending.filter((delivery) => delivery.queue === queue);
    for (let start = 0; start < lane.length; start += MAX_BATCH) {
      const batch = lane.slice(start, start + MAX_BATCH);
      await deliveryQueue(env, queue).sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
      await markEnqueued(
        db,
        batch.map(({ id }) => id),
      );
    }
  }
  return pending.length;
}
