// Test deliveries (POST /webhooks/{id}/test) are kept for a while, not for the 30 days of real ones:
// /test is limited to 10 a minute per webhook, which would still be 432,000 stored tests per webhook
// over 30 days. The hourly purge keeps each webhook's newest TEST_DELIVERIES_KEPT tests, none older than
// TEST_DELIVERY_RETENTION.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { deliveries, events } from '../../db/schema.ts';

/** Test deliveries a webhook keeps at most, the newest. */
export const TEST_DELIVERIES_KEPT = 100;
/** How long a test delivery stays in the log, at most. */
const TEST_DELIVERY_RETENTION = sql`interval '24 hours'`;
/**
 * Test deliveries one purge deletes at most: one statement well within the 5 s statement_timeout
 * (with their events and attempts); whatever is left goes at the next hour's purge.
 */
export const TEST_PURGE_LIMIT = 5_000;

/**
 * Deletes the test deliveries past retention in one statement: those older than 24 hours, and those
 * beyond each webhook's newest 100, oldest first, at most `limit`. A test is stored as its own
 * PING event (`test:<delivery id>`), its delivery and its attempts: deleting the event takes the other
 * two with it (foreign keys, on delete cascade). A pending delivery (a test redelivered, its attempt
 * queued or in flight) is never deleted, nor one someone holds: the rows are locked, skipping those
 * held, and checked again once locked, so a redeliver that commits first keeps its delivery and one
 * that comes after finds it gone (404).
 *
 * Only tests of the last 24 hours are ranked per webhook: older ones go whatever their rank, so a
 * backlog (tests stored before this purge existed) is read oldest first, LIMIT rows at a time.
 */
export async function purgeTestDeliveries(db: Database, limit = TEST_PURGE_LIMIT): Promise<number> {
  const cutoff = sql`now() - ${TEST_DELIVERY_RETENTION}`;
  const removable = sql`status <> 'pending' and (locked_until is null or locked_until < now())`;
  const result = await db.execute(sql`
    with candidates as (
      select id from (
        (select id from ${deliveries}
          where is_test and created_at < ${cutoff} and ${removable}
          order by created_at limit ${limit}::int)
        union all
        (select id from (
            select id, status, locked_until,
              row_number() over (partition by webhook_id order by created_at desc, id desc) as newer
            from ${deliveries} where is_test and created_at >= ${cutoff}) ranked
          where newer > ${TEST_DELIVERIES_KEPT}::int and ${removable})
      ) taken limit ${limit}::int
    ), doomed as (
      select account_id, event_id from ${deliveries}
      where id in (select id from candidates) and is_test and ${removable}
      for update skip locked
    )
    delete from ${events} e using doomed
    where e.account_id = doomed.account_id and e.id = doomed.event_id and e.id like 'test:%'`);
  return result.rowCount ?? 0;
}
