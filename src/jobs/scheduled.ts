import type { Database } from '../db/client.ts';
import { createDatabase } from '../db/client.ts';
import { type DeliveryMessage, MAX_BATCH } from '../deliveries/messages.ts';
import { markNotEnqueued, purgeOldEvents, takeStranded } from '../deliveries/store/events.ts';
import { purgeOldStats } from '../deliveries/store/stats.ts';
import { purgeTestDeliveries } from '../deliveries/store/test-retention.ts';
import type { StoredEventMessage } from '../events/message.ts';
import { purgeExpiredIdempotencyRecords } from '../idempotency/store.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';

/** wrangler.toml [triggers]: the sweep every minute, the purges once an hour. */
export const SWEEP_CRON = '* * * * *';
export const PURGE_CRON = '17 * * * *';

/** Events, and deliveries, put back on their queues by one sweep, at most: the next minute takes the rest. */
const STRANDED_PER_SWEEP = 1000;
/** Seconds past its due time (and lease) before a message counts as lost: STRANDED_AFTER_SECONDS overrides it. */
const DEFAULT_STRANDED_AFTER_SECONDS = 60;

function strandedAfterSeconds(env: Env): number {
  const value = Number(env.STRANDED_AFTER_SECONDS);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_STRANDED_AFTER_SECONDS;
}

/**
 * What lost its queue message goes back on the queue: accepted events never fanned out (the consumer
 * fans them out from their row) and pending deliveries. Deliveries that cannot be sent are unmarked,
 * so the next sweep takes them at once; events wait out their lease (requeued_at).
 */
async function requeueStranded(db: Database, env: Env): Promise<number> {
  const stranded = await takeStranded(db, strandedAfterSeconds(env), STRANDED_PER_SWEEP);
  const eventsQueue = env.WEBHOOK_EVENTS as Queue<StoredEventMessage>;
  for (let start = 0; start < stranded.events.length; start += MAX_BATCH) {
    const batch = stranded.events.slice(start, start + MAX_BATCH);
    await eventsQueue.sendBatch(batch.map(({ accountId, id }) => ({ body: { storedEventId: id, accountId } })));
  }
  const deliveriesQueue = env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>;
  for (let start = 0; start < stranded.deliveries.length; start += MAX_BATCH) {
    const batch = stranded.deliveries.slice(start, start + MAX_BATCH);
    try {
      await deliveriesQueue.sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
    } catch (error) {
      await markNotEnqueued(
        db,
        stranded.deliveries.slice(start).map(({ id }) => id),
      );
      throw error;
    }
  }
  return stranded.events.length + stranded.deliveries.length;
}

/**
 * The crons (wrangler.toml [triggers]). Every minute: what lost its queue message back on the queue
 * (one statement when there is nothing to do). Every hour: Idempotency-Key records past their 24 h,
 * events (with their deliveries and attempts) past their 30 days, and test deliveries past their 24 h
 * or beyond a webhook's newest 100. Each job runs whether or not another failed.
 */
export async function runScheduledJobs(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const db = createDatabase(env, `webhooks cron ${controller.cron}`);
  const jobs: [name: string, run: () => Promise<number>][] =
    controller.cron === PURGE_CRON
      ? [
          ['idempotency keys purged', () => purgeExpiredIdempotencyRecords(db, controller.scheduledTime)],
          ['events purged', () => purgeOldEvents(db)],
          ['test deliveries purged', () => purgeTestDeliveries(db)],
          ['delivery stats purged', () => purgeOldStats(db)],
        ]
      : [['stranded events and deliveries queued again', () => requeueStranded(db, env)]];
  const failures: unknown[] = [];
  for (const [name, run] of jobs) {
    try {
      const count = await run();
      // A quiet minute says nothing: the sweep would otherwise log 1,440 lines a day.
      if (count > 0 || controller.cron === PURGE_CRON) logInfo(name, { count, cron: controller.cron });
    } catch (error) {
      logError(`${name}: failed`, { cron: controller.cron, ...describeError(error) });
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
