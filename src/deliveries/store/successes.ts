// A group of plain successes recorded in one statement: what most attempts are when a backlog drains.
// "Plain": not a test, and its webhook healthy when the statement locks it (active, circuit closed, no
// failure streak). Then recordAttempt (attempts.ts) would change nothing on the webhook but its lane and
// last_success_at, publish no state change, and add one success to the rollup: done here for all of
// them at once. Anything else (a webhook that is failing, disabled or gone meanwhile) is left for
// recordAttempt, one at a time, which knows every transition.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { retryingConflicts } from '../../db/retry.ts';
import { deliveries, deliveryAttempts, LATENCY_BOUNDS_MS, webhookAttemptStats, webhooks } from '../../db/schema.ts';
import { latencyBucket } from './latency.ts';

export interface PlainSuccess {
  deliveryId: string;
  /** The series the claim leased it for: a redelivery's newer series keeps its own state. */
  series: number;
  webhookId: string;
  /** The attempt's number in the delivery's log. */
  attempt: number;
  startedAt: Date;
  httpStatus: number;
  durationMs: number;
  responseExcerpt: string | null;
}

const LATENCY_COLUMNS = Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, index) => `latency_${index}`);
const latencyList = sql.raw(LATENCY_COLUMNS.join(', '));
const latencyCounts = sql.raw(
  LATENCY_COLUMNS.map((_, index) => `count(*) filter (where latency = ${index})::int`).join(', '),
);
const latencySums = sql.raw(LATENCY_COLUMNS.map((column) => `${column} = s.${column} + excluded.${column}`).join(', '));

/**
 * Records these successes in one statement, those whose webhook is healthy under its lock; returns the
 * delivery ids it recorded. The rest are for recordAttempt.
 */
export async function recordPlainSuccesses(db: Database, successes: readonly PlainSuccess[]): Promise<Set<string>> {
  const items = JSON.stringify(
    successes.map((success) => ({
      delivery_id: success.deliveryId,
      series: success.series,
      webhook_id: success.webhookId,
      number: success.attempt,
      started_at: success.startedAt.toISOString(),
      http_status: success.httpStatus,
      duration_ms: success.durationMs,
      response_excerpt: success.responseExcerpt,
      latency: latencyBucket(success.durationMs),
    })),
  );
  const result = await retryingConflicts(() =>
    db.execute<{ id: string }>(sql`
    with item as (
      select * from json_to_recordset(${items}::json) as x(delivery_id uuid, series int, webhook_id uuid, number int,
        started_at timestamptz, http_status int, duration_ms int, response_excerpt text, latency int)
    ), healthy as materialized (
      select w.id from ${webhooks} w
      where w.id in (select webhook_id from item)
        and w.is_active and w.circuit_opened_at is null and w.failing_since is null and w.consecutive_failures = 0
      order by w.id
      -- A group never waits for a webhook someone else holds: what it skips, recordAttempt records.
      for no key update ${successes.length > 1 ? sql`skip locked` : sql``}
    ), recorded as materialized (
      select item.* from item join healthy on healthy.id = item.webhook_id
      where exists (select 1 from ${deliveries} d where d.id = item.delivery_id)
    ), attempt as (
      insert into ${deliveryAttempts} (delivery_id, number, started_at, http_status, duration_ms, error, response_excerpt)
      select delivery_id, number, started_at, http_status, duration_ms, null, response_excerpt from recorded
    ), delivery as (
      -- The outcome is the delivery's state only for this series, and unless it was cancelled meanwhile.
      update ${deliveries} d set
        status = case when d.series = r.series and d.status <> 'cancelled' then 'succeeded'::delivery_status
          else d.status end,
        last_http_status = r.http_status,
        last_error = case when d.series = r.series and d.status <> 'cancelled' then null else d.last_error end,
        next_attempt_at = case when d.series = r.series and d.status <> 'cancelled' then null else d.next_attempt_at end,
        locked_until = null
      from recorded r where d.id = r.delivery_id
    ), webhook as (
      update ${webhooks} w set last_success_at = now(),
        lanes = w.lanes - (select array_agg(r.delivery_id::text) from recorded r where r.webhook_id = w.id)
      where w.id in (select webhook_id from recorded)
    ), rollup as (
      insert into ${webhookAttemptStats} as s (webhook_id, bucket_start, attempts, succeeded, failed, ${latencyList})
      select webhook_id, to_timestamp(floor(extract(epoch from now()) / 300) * 300), count(*)::int, count(*)::int, 0,
        ${latencyCounts}
      from recorded group by webhook_id
      on conflict (webhook_id, bucket_start) do update set attempts = s.attempts + excluded.attempts,
        succeeded = s.succeeded + excluded.succeeded, ${latencySums}
    )
    select delivery_id::text as id from recorded`),
  );
  return new Set(result.rows.map((row) => row.id));
}
