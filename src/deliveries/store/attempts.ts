// A delivery's attempts in Postgres: the outcome of one recorded in one statement (claims.ts leases
// them; successes.ts records a group of plain successes at once). Everything a decision depends on is
// read and changed under the row locks of the statement that decides.
//
// Lock order: a statement that locks a webhook and some of its deliveries takes the webhook first (a
// materialized CTE, before the deliveries are touched), as the webhook's own writes do (deactivating or
// deleting it locks it, then cancels or deletes its deliveries). Two such statements then queue on the
// webhook instead of each holding what the other waits for.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fromJson } from '../../db/json.ts';
import { retryingConflicts } from '../../db/retry.ts';
import { deliveries, deliveryAttempts, webhooks } from '../../db/schema.ts';
import { SLOW_LANE_FOR } from '../queues.ts';
import { type CircuitSettings, type ClaimedAttempt, SLOW_ATTEMPT_MS } from './claims.ts';
import type { DeliveryStatus } from './shared.ts';
import * as health from './state-changes.ts';

export interface AttemptRecord {
  startedAt: Date;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  success: boolean;
  /** HTTP 410: the receiver asked for no more; the webhook is deactivated and its pending deliveries cancelled. */
  gone: boolean;
  /** When the next attempt is due; null when there is none (succeeded, or retries spent: failed). */
  nextAttemptAt: Date | null;
  /** It timed out: with a duration of SLOW_ATTEMPT_MS or more, it puts the webhook in the slow lane. */
  timedOut: boolean;
}

/**
 * Records an attempt in one statement: the attempt's log entry, the delivery's new state, and its
 * webhook's circuit (a success closes it; a failure counts, and the threshold opens it). Test
 * deliveries never touch the circuit. Returns whether the delivery still waits for this message's
 * series: not when it was cancelled meanwhile, or sent again as a new series (redeliver), whose own
 * message carries it on. Either way the attempt happened: it is logged, its lease ends, and its
 * outcome counts for the webhook (a 410 still deactivates, a probe's result still closes or reopens).
 */
export async function recordAttempt(
  db: Database,
  claim: ClaimedAttempt,
  outcome: AttemptRecord,
  circuit: CircuitSettings,
): Promise<{ pending: boolean; stateEvents: health.StateEvent[] }> {
  const status: DeliveryStatus = outcome.success ? 'succeeded' : outcome.nextAttemptAt ? 'pending' : 'failed';
  // A test delivery leaves the circuit and the webhook as they were; it only gives back its lane.
  const counts = !claim.isTest;
  const failures = !counts ? sql`w.consecutive_failures` : outcome.success ? sql`0` : sql`w.consecutive_failures + 1`;
  const circuitOpenedAt = !counts
    ? sql`w.circuit_opened_at`
    : outcome.success
      ? sql`null::timestamptz`
      : sql`case when w.circuit_opened_at is null and w.consecutive_failures + 1 >= ${circuit.failureThreshold}::int
        then now() else w.circuit_opened_at end`;
  // A 410's delivery fails with its webhook: WEBHOOK_DISABLED (GONE) says it, not DELIVERY_EXHAUSTED.
  const exhausted = status === 'failed' && !outcome.gone;
  const attempt = {
    ...outcome,
    exhausted: sql`${exhausted} and (select current from delivery)`,
    autoDisableAfterSeconds: circuit.autoDisableAfterSeconds,
  };
  const active = counts ? health.activeAfter(attempt) : sql`w.is_active`;
  // A test leaves the health columns as they were too (a no-op assignment keeps the statement's shape).
  const healthSet = counts ? health.healthAssignments(attempt) : sql`last_success_at = w.last_success_at`;
  // A test's timeout counts here too: it says how the endpoint answers, whoever asked.
  const slow = outcome.timedOut || outcome.durationMs >= SLOW_ATTEMPT_MS;
  // This message's series, and not cancelled meanwhile: only then is the outcome the delivery's state.
  const current = sql`(d.series = ${claim.series}::int and d.status <> 'cancelled')`;
  const result = await retryingConflicts(() =>
    db.execute<{ pending: boolean | null; state_events: string | health.StateEvent[] }>(sql`
    with webhook_locked as materialized (
      select ${health.STATE_BEFORE} from ${webhooks} where id = ${claim.webhookId}::uuid for no key update
    ), attempt as (
      insert into ${deliveryAttempts} (delivery_id, number, started_at, http_status, duration_ms, error, response_excerpt)
      values (${claim.deliveryId}::uuid, ${claim.attempt}::int, ${outcome.startedAt.toISOString()}::timestamptz,
        ${outcome.httpStatus}::int, ${outcome.durationMs}::int, ${outcome.error}, ${outcome.responseExcerpt})
    ), delivery as (
      update ${deliveries} d set
        status = case when ${current} then ${status}::delivery_status else d.status end,
        last_http_status = ${outcome.httpStatus}::int,
        last_error = case when ${current} then ${outcome.error} else d.last_error end,
        next_attempt_at = case when ${current} then ${outcome.nextAttemptAt?.toISOString() ?? null}::timestamptz
          else d.next_attempt_at end,
        locked_until = null
      where d.id = ${claim.deliveryId}::uuid and exists (select 1 from webhook_locked)
      returning d.id, ${current} and ${status === 'pending'} as pending, ${current} as current
    ), webhook as (
      update ${webhooks} w set consecutive_failures = ${failures}, circuit_opened_at = ${circuitOpenedAt},
        is_active = ${active}, lanes = w.lanes - ${claim.deliveryId}::text, ${healthSet},
        slow_until = ${slow ? sql`now() + ${SLOW_LANE_FOR}` : sql`w.slow_until`},
        revision = w.revision + case when (w.consecutive_failures, w.circuit_opened_at, w.is_active)
          is distinct from (${failures}, ${circuitOpenedAt}, ${active}) then 1 else 0 end
      where w.id = ${claim.webhookId}::uuid and exists (select 1 from delivery)
      ${health.STATE_AFTER}
    ), cancelled as (
      update ${deliveries} set status = 'cancelled', last_error = ${health.cancelledBecause(outcome.gone)},
        next_attempt_at = null
      where webhook_id = ${claim.webhookId}::uuid and status = 'pending' and id <> ${claim.deliveryId}::uuid
        and exists (select 1 from webhook join webhook_locked b on b.id = webhook.id where b.is_active and not webhook.is_active)
    ), ${health.rollupCte(claim.webhookId, outcome, sql`not ${claim.isTest} and exists (select 1 from delivery)`)},
    ${health.attemptChangesCte(outcome)}, ${health.insertStateEvents()}
    select (select pending from delivery) as pending, ${health.STATE_EVENTS_COLUMN} as state_events`),
  );
  const row = result.rows[0];
  return { pending: row?.pending === true, stateEvents: row ? fromJson(row.state_events) : [] };
}

/** A delivery that exhausted the queue's own retries (its dead-letter queue): failed, visibly, never pending forever. */
export async function markAbandoned(db: Database, deliveryId: string, series: number): Promise<void> {
  await db.execute(sql`
    update ${deliveries} set status = 'failed', locked_until = null, next_attempt_at = null,
      last_error = 'abandoned: the delivery system could not process it (retries exhausted)'
    where id = ${deliveryId}::uuid and series = ${series}::int and status = 'pending'`);
}

/** Deactivating a webhook cancels what it had pending: a CTE for the statement that deactivates. */
export function cancelPendingCte(webhookId: string, done: SQL): SQL {
  return sql`cancelled as (
    update ${deliveries} set status = 'cancelled', last_error = 'not sent: the webhook was deactivated',
      next_attempt_at = null
    where webhook_id = ${webhookId}::uuid and status = 'pending' and exists (${done})
  )`;
}
