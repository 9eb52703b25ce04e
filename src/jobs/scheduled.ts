import type { Database } from '../db/client.ts';
import { createDatabase } from '../db/client.ts';
import { type DeliveryMessage, MAX_BATCH } from '../deliveries/messages.ts';
import type { StateChangeMessage } from '../deliveries/state-events.ts';
import { markNotEnqueued, purgeOldEvents, takeStrandedDeliveries } from '../deliveries/store/events.ts';
import { purgeOldStats } from '../deliveries/store/stats.ts';
import { unsentStateEvents } from '../deliveries/store/stored-state-event.ts';
import { purgeExpiredIdempotencyRecords } from '../idempotency/store.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';

/** Deliveries put back on the queue by one sweep, at most: the next hour takes the rest. */
const STRANDED_PER_SWEEP = 1000;

/** Pending deliveries whose message was lost, back on the queue; what cannot be sent is unmarked for next time. */
async function requeueStranded(db: Database, queue: Queue<DeliveryMessage>): Promise<number> {
  const stranded = await takeStrandedDeliveries(db, STRANDED_PER_SWEEP);
  for (let start = 0; start < stranded.length; start += MAX_BATCH) {
    const batch = stranded.slice(start, start + MAX_BATCH);
    try {
      await queue.sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
    } catch (error) {
      await markNotEnqueued(
        db,
        stranded.slice(start).map(({ id }) => id),
      );
      throw error;
    }
  }
  return stranded.length;
}

/** State-change events whose fan-out message was lost, on the queue again. */
async function requeueStateEvents(db: Database, queue: Queue<StateChangeMessage>): Promise<number> {
  const unsent = await unsentStateEvents(db, STRANDED_PER_SWEEP);
  for (let start = 0; start < unsent.length; start += MAX_BATCH) {
    await queue.sendBatch(
      unsent.slice(start, start + MAX_BATCH).map((event) => ({ body: { kind: 'state-change', event } })),
    );
  }
  return unsent.length;
}

/**
 * The hourly cron (wrangler.toml [triggers]): Idempotency-Key records past their 24 h, events (and with
 * them their deliveries and attempts) past their 30 days, and pending deliveries that lost their queue
 * message put back on it. Each job runs whether or not another failed.
 */
export async function runScheduledJobs(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const db = createDatabase(env, `webhooks cron ${controller.cron}`);
  const jobs: [name: string, run: () => Promise<number>][] = [
    ['idempotency keys purged', () => purgeExpiredIdempotencyRecords(db, controller.scheduledTime)],
    ['events purged', () => purgeOldEvents(db)],
    ['stranded deliveries queued again', () => requeueStranded(db, env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>)],
    ['delivery stats purged', () => purgeOldStats(db)],
    ['state-change events queued again', () => requeueStateEvents(db, env.WEBHOOK_EVENTS as Queue<StateChangeMessage>)],
  ];
  const failures: unknown[] = [];
  for (const [name, run] of jobs) {
    try {
      logInfo(name, { count: await run(), cron: controller.cron });
    } catch (error) {
      logError(`${name}: failed`, { cron: controller.cron, ...describeError(error) });
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}
