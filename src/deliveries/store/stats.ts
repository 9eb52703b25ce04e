// A webhook's delivery stats (GET /webhooks/{id}/stats) in one statement with the access check: the
// window's deliveries by status, counted from an index alone (deliveries_webhook_stats_idx), and its
// attempts summed from the 5-minute rollup the record statement keeps (webhook_attempt_stats), never
// from the attempts themselves: 30 days of a busy webhook are millions of attempts but 8,640 rollup rows.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fromJson } from '../../db/json.ts';
import { deliveries, LATENCY_BOUNDS_MS, webhookAttemptStats, webhooks } from '../../db/schema.ts';
import type { LogTarget } from './log.ts';
import { iso } from './shared.ts';

/** Latency buckets in the rollup: one per bound, and one for anything slower. */
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;

export interface StatsBucket {
  /** ISO start of the series bucket. */
  start: string;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Attempts per latency bucket (LATENCY_BOUNDS_MS). */
  latency: number[];
}

export interface WebhookStatsRow {
  found: boolean;
  reachable: boolean;
  isActive: boolean;
  circuitOpenedAt: string | null;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  statuses: { status: string; count: number }[];
  buckets: StatsBucket[];
}

const latencySums = sql.raw(
  Array.from({ length: LATENCY_BUCKETS }, (_, index) => `coalesce(sum(s.latency_${index}), 0)`).join(', '),
);

/**
 * The webhook's stats from `from` on, its attempts grouped into series buckets of `stepSeconds`
 * (aligned on the epoch, so on UTC hours and days).
 */
export async function webhookStats(
  db: Database,
  log: LogTarget,
  from: string,
  stepSeconds: number,
): Promise<WebhookStatsRow> {
  const result = await db.execute<{
    found: boolean;
    reachable: boolean;
    is_active: boolean | null;
    circuit_opened_at: string | null;
    failing_since: string | null;
    last_success_at: string | null;
    last_failure_at: string | null;
    statuses: string | { status: string; count: number }[];
    buckets: string | StatsBucket[];
  }>(sql`
    with target as (
      select w.id, ${log.reachable} as reachable, w.is_active, w.circuit_opened_at, w.failing_since,
        w.last_success_at, w.last_failure_at
      from ${webhooks} w where w.id = ${log.webhookId}::uuid and w.account_id = ${log.accountId}::uuid
    ), statuses as (
      select d.status::text as status, count(*)::int as count from ${deliveries} d
      where d.webhook_id = (select id from target where reachable) and d.created_at >= ${from}::timestamptz
        and not d.is_test
      group by d.status
    ), buckets as (
      select to_timestamp(floor(extract(epoch from s.bucket_start) / ${stepSeconds}::int) * ${stepSeconds}::int) as start,
        sum(s.attempts)::int as attempts, sum(s.succeeded)::int as succeeded, sum(s.failed)::int as failed,
        array[${latencySums}]::int[] as latency
      from ${webhookAttemptStats} s
      where s.webhook_id = (select id from target where reachable) and s.bucket_start >= ${from}::timestamptz
      group by 1
    )
    select exists (select 1 from target) as found, coalesce((select reachable from target), false) as reachable,
      (select is_active from target) as is_active,
      (select ${iso(sql`circuit_opened_at`)} from target) as circuit_opened_at,
      (select ${iso(sql`failing_since`)} from target) as failing_since,
      (select ${iso(sql`last_success_at`)} from target) as last_success_at,
      (select ${iso(sql`last_failure_at`)} from target) as last_failure_at,
      coalesce((select json_agg(statuses) from statuses), '[]'::json) as statuses,
      coalesce((select json_agg(json_build_object('start', ${iso(sql`start`)}, 'attempts', attempts,
        'succeeded', succeeded, 'failed', failed, 'latency', latency) order by start) from buckets), '[]'::json) as buckets`);
  const row = result.rows[0];
  return {
    found: row?.found ?? false,
    reachable: row?.reachable ?? false,
    isActive: row?.is_active ?? false,
    circuitOpenedAt: row?.circuit_opened_at ?? null,
    failingSince: row?.failing_since ?? null,
    lastSuccessAt: row?.last_success_at ?? null,
    lastFailureAt: row?.last_failure_at ?? null,
    statuses: row ? fromJson(row.statuses) : [],
    buckets: row ? fromJson(row.buckets) : [],
  };
}

/** Rollup rows past the longest window (30 days, and a day of margin): the hourly cron drops them. */
export async function purgeOldStats(db: Database): Promise<number> {
  const result = await db.execute(
    sql`delete from ${webhookAttemptStats} where bucket_start < now() - interval '31 days'`,
  );
  return result.rowCount ?? 0;
}
