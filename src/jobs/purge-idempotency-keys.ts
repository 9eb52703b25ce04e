import { createDatabase } from '../db/client.ts';
import { purgeExpiredIdempotencyRecords } from '../idempotency/store.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';

/** Cron trigger (wrangler.toml [triggers]): drops Idempotency-Key records past their 24 h window. */
export async function purgeIdempotencyKeys(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  try {
    const db = createDatabase(env, `webhooks cron ${controller.cron}`);
    const purged = await purgeExpiredIdempotencyRecords(db, controller.scheduledTime);
    logInfo('idempotency keys purged', { purged, cron: controller.cron });
  } catch (error) {
    logError('idempotency key purge failed', { cron: controller.cron, ...describeError(error) });
    throw error;
  }
}
