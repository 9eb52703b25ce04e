// A delivery's attempts in Postgres, one statement per step: claim a delivery for an attempt, record the
// attempt's outcome. The queue carries only ids; everything a
// decision depends on is read and changed under the row locks of the statement that decides.
//
// Lock order: a statement that locks a webhook and some of its deliveries takes the webhook first (a
// materialized CTE, before the deliveries are touched), as the webhook's own writes do (deactivating or
// deleting it locks it, then cancels or deletes its deliveries). Two such statements then queue on the
// webhook instead of each holding what the other waits for.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fromJson } from '../../db/json.ts';
import { retryingConflicts } from '../../db/retry.ts';
import { deliveries, deliveryAttempts, events, webhooks } from '../../db/schema.ts';
import type { WebhookEvent } from '../../events/event-types.ts';
import type { SealedHeaders } from '../../webhooks/secrets.ts';
import type { EventForDelivery } from '../payload.ts';
import { type DeliveryStatus, iso } from './shared.ts';
import * as health from './state-changes.ts';

export interface CircuitSettings {
  coolDownSeconds: number;
  failureThreshold: number;
  /** Failing this long without a success disables the webhook (FAILING). */
  autoDisableAfterSeconds: number;
}

/** Everything one attempt needs, read by the claim that leased it. */
export interface ClaimedAttempt {
  deliveryId: string;
  series: number;
  webhookId: string;
  accountId: string;
  isTest: boolean;
  /** This attempt's number, overall and within the current series. */
  attempt: number;
  seriesAttempt: number;
  url: string;
  timeoutMs: number;
  maxRetries: number;
  signingSecretSealed: string;
  /** Still valid: the rotation's grace period has not run out. */
  previousSigningSecretSealed: string | null;
  headers: SealedHeaders;
  event: EventForDelivery;
  /** This attempt is the one let through an open circuit after its cool-down. */
  probe: boolean;
  /** How long to wait before sending: the rate-limit slot this attempt holds is this far off (under a second). */
  waitMs: number;
}

export type Claim =
  /** No such delivery: deleted with its webhook or its event. */
  | { kind: 'missing' }
  /** Already succeeded, failed, skipped or cancelled, or a newer series replaced this message's. */
  | { kind: 'settled' }
  /**
   * Not due yet: a message for a retry further off than one queue hop can wait, or a duplicate of one
   * whose retry is scheduled. It waits the rest.
   */
  | { kind: 'early'; retryInSeconds: number }
  /** Another attempt holds the lease: try again when it runs out (it may have crashed). */
  | { kind: 'leased'; retryInSeconds: number }
  /** Its webhook was deactivated: marked cancelled. */
  | { kind: 'cancelled' }
  /** Its webhook's circuit is open: marked skipped, not sent. */
  | { kind: 'skipped' }
  /**
   * Its webhook is in the slow lane (it timed out or answered slowly not long ago) and this message came
   * through the main one: it goes to the slow lane's queue instead, and waits there.
   */
  | { kind: 'slow' }
  /** Its webhook has its share of attempts in flight already (fair lanes): try again shortly. */
  | { kind: 'busy'; retryInSeconds: number }
  /** Over its webhook's rate limit: a slot is reserved for it; it waits until then. Not an attempt. */
  | { kind: 'throttled'; retryInSeconds: number }
  | { kind: 'send'; attempt: ClaimedAttempt };

/** Time an attempt holds its lease beyond its timeout: enough to record the outcome. */
const LEASE_MARGIN_MS = 30_000;
/** A message this close to its delivery's next attempt is not early. */
const EARLY_TOLERANCE = sql`interval '2 seconds'`;
/**
 * Attempts one webhook may have in flight at once, across the service: half of one consumer
 * invocation's lanes (deliver.ts MAX_IN_FLIGHT), so a hanging or slow endpoint never holds them all.
 * Counted from the webhook's `lanes` (delivery id → lease end) under its row lock: a crashed attempt's
 * lane frees itself when its lease ends.
 */
export const MAX_LANES_PER_WEBHOOK = 3;
/** A delivery whose webhook has no free lane comes back this much later. */
const BUSY_RETRY_SECONDS = 1;
/** A rate-limit slot this close is waited for in the lane; a later one goes back to the queue. */
const SLOT_WAIT_MS = 1000;
/**
 * An attempt that timed out or took this long puts its webhook in the slow lane for SLOW_LANE_FOR: its
 * deliveries then go through the webhook-deliveries-slow queue, whose consumers no healthy webhook waits
 * behind (README "Fair delivery").
 */
export const SLOW_ATTEMPT_MS = 5000;
const SLOW_LANE_FOR = sql`interval '10 minutes'`;

/** Which queue a message came through: the main one, or the slow lane's, for webhooks that hang or answer slowly. */
export type DeliveryQueue = 'main' | 'slow';

type ClaimRow = {
  action: 'settled' | 'leased' | 'early' | 'cancel' | 'skip' | 'slow' | 'busy' | 'throttle' | 'probe' | 'send';
  wait_ms: number | null;
  lease_seconds: number | null;
  due_seconds: number | null;
  series: number;
  webhook_id: string;
  account_id: string;
  is_test: boolean;
  url: string;
  timeout_ms: number;
  max_retries: number;
  header_names: string[];
  headers_sealed: string | null;
  header_values_sealed: string | null;
  signing_secret_sealed: string;
  previous_signing_secret_sealed: string | null;
  attempts: number | null;
  series_attempts: number | null;
  event_type: WebhookEvent;
  occurred_at: string;
  company_id: string | null;
  data: string;
};

/**
 * Decides what to do with a delivery's message and, to send it, leases the delivery for one attempt:
 * one statement, under the delivery's and its webhook's row locks, so that two messages for the same
 * delivery never both send, and an open circuit lets exactly one probe through after its cool-down.
 */
export async function claimDelivery(
  db: Database,
  deliveryId: string,
  series: number,
  circuit: CircuitSettings,
  queue: DeliveryQueue,
): Promise<Claim> {
  const result = await retryingConflicts(() =>
    db.execute<ClaimRow>(sql`
    with webhook as materialized (
      select w.id, w.is_active, w.circuit_opened_at, w.url, w.timeout_ms, w.max_retries, w.header_names,
        w.headers_sealed, w.header_values_sealed, w.signing_secret_sealed,
        case when w.previous_secret_expires_at > now() then w.previous_signing_secret_sealed end
          as previous_signing_secret_sealed,
        w.rate_limit_per_second, w.rate_next_at,
        -- In the slow lane, or answering slowly right now: an attempt of it in flight for SLOW_ATTEMPT_MS
        -- already (a lane's lease ends its timeout and margin after the attempt began).
        coalesce(w.slow_until > now(), false) or exists (select 1 from jsonb_each_text(w.lanes) l
          where l.value::timestamptz > now() and l.value::timestamptz
            - (w.timeout_ms + ${LEASE_MARGIN_MS}::int - ${SLOW_ATTEMPT_MS}::int) * interval '1 millisecond' < now()) as slow,
        (select count(*) from jsonb_each_text(w.lanes) l where l.value::timestamptz > now())::int as lanes_busy
      from ${webhooks} w
      where w.id = (select webhook_id from ${deliveries} where id = ${deliveryId}::uuid)
      for no key update
    ), target as (
      select d.id, d.series, d.status, d.next_attempt_at, d.locked_until, d.is_test, d.webhook_id, d.account_id,
        d.event_id, w.is_active, w.circuit_opened_at, w.url, w.timeout_ms, w.max_retries, w.header_names,
        w.headers_sealed, w.header_values_sealed, w.signing_secret_sealed, w.previous_signing_secret_sealed,
        w.rate_limit_per_second, w.lanes_busy, w.slow, d.rate_slot_at,
        -- The rate-limit slot this attempt would go at: the one it holds, or the webhook's next free one.
        case when w.rate_limit_per_second is not null
          then coalesce(d.rate_slot_at, greatest(w.rate_next_at, now())) end as slot
      from ${deliveries} d join webhook w on w.id = d.webhook_id
      where d.id = ${deliveryId}::uuid
      for update of d
    ), decided as (
      select target.*, case
        when status <> 'pending' or series <> ${series}::int then 'settled'
        when locked_until > now() then 'leased'
        when next_attempt_at > now() + ${EARLY_TOLERANCE} then 'early'
        when not is_active then 'cancel'
        when circuit_opened_at > now() - ${circuit.coolDownSeconds}::int * interval '1 second' then 'skip'
        when slow and ${queue === 'main'} then 'slow'
        when lanes_busy >= ${MAX_LANES_PER_WEBHOOK}::int then 'busy'
        when slot > now() + ${SLOT_WAIT_MS}::int * interval '1 millisecond' then 'throttle'
        when circuit_opened_at is not null then 'probe'
        else 'send' end as action,
        greatest(0, ceil(extract(epoch from (slot - now())) * 1000))::int as wait_ms
      from target
    ), decision as (
      select decided.*,
        now() + (timeout_ms + ${LEASE_MARGIN_MS}::int + coalesce(wait_ms, 0)) * interval '1 millisecond' as lease_until
      from decided
    ), webhook_changed as (
      -- One update of the webhook row for all the claim changes on it: the probe's new opening, the
      -- lane the attempt takes (expired ones dropped), the rate-limit slot taken or reserved.
      update ${webhooks} w set
        circuit_opened_at = case when decision.action = 'probe' then now() else w.circuit_opened_at end,
        revision = w.revision + case when decision.action = 'probe' then 1 else 0 end,
        lanes = case when decision.action in ('send', 'probe') then
            coalesce((select jsonb_object_agg(l.key, l.value) from jsonb_each_text(w.lanes) l
              where l.value::timestamptz > now()), '{}'::jsonb)
            || jsonb_build_object(decision.id::text, decision.lease_until)
          else w.lanes end,
        rate_next_at = case when decision.slot is not null and decision.rate_slot_at is null
            and decision.action in ('send', 'probe', 'throttle')
          then decision.slot + (1000.0 / decision.rate_limit_per_second) * interval '1 millisecond'
          else w.rate_next_at end
      from decision
      where w.id = decision.webhook_id and decision.action in ('send', 'probe', 'throttle')
    ), marked as (
      update ${deliveries} d set
        status = case decision.action when 'cancel' then 'cancelled'::delivery_status
          when 'skip' then 'skipped'::delivery_status else d.status end,
        last_error = case decision.action when 'cancel' then 'not sent: the webhook is inactive'
          when 'skip' then 'not sent: the circuit is open' else d.last_error end,
        next_attempt_at = case when decision.action in ('cancel', 'skip') then null else d.next_attempt_at end,
        attempts = d.attempts + case when decision.action in ('send', 'probe') then 1 else 0 end,
        series_attempts = d.series_attempts + case when decision.action in ('send', 'probe') then 1 else 0 end,
        last_attempt_at = case when decision.action in ('send', 'probe') then now() else d.last_attempt_at end,
        locked_until = case when decision.action in ('send', 'probe') then decision.lease_until end,
        rate_slot_at = case when decision.action = 'throttle' then decision.slot
          when decision.action in ('send', 'probe') then null else d.rate_slot_at end,
        -- Sent back to wait for a lane, or on to the slow lane: a message is on its way again, so the
        -- minute sweep (store/events.ts DUE) does not take it as lost while it waits.
        enqueued_at = case when decision.action in ('busy', 'slow') then now() else d.enqueued_at end
      from decision
      where d.id = decision.id and decision.action in ('send', 'probe', 'cancel', 'skip', 'slow', 'busy', 'throttle')
      returning d.attempts, d.series_attempts
    )
    select decision.action, decision.wait_ms, ceil(extract(epoch from (decision.locked_until - now())))::int as lease_seconds,
      ceil(extract(epoch from (decision.next_attempt_at - now())))::int as due_seconds,
      decision.series, decision.webhook_id, decision.account_id, decision.is_test, decision.url, decision.timeout_ms,
      decision.max_retries, decision.header_names, decision.headers_sealed, decision.header_values_sealed,
      decision.signing_secret_sealed, decision.previous_signing_secret_sealed,
      marked.attempts, marked.series_attempts,
      e.type as event_type, ${iso(sql`e.occurred_at`)} as occurred_at, e.company_id, e.data
    from decision
    left join marked on true
    join ${events} e on e.account_id = decision.account_id and e.id = decision.event_id`),
  );
  const row = result.rows[0];
  if (!row) return { kind: 'missing' };
  switch (row.action) {
    case 'settled':
      return { kind: 'settled' };
    case 'early':
      return { kind: 'early', retryInSeconds: Math.max(1, row.due_seconds ?? 1) };
    case 'leased':
      return { kind: 'leased', retryInSeconds: Math.max(1, row.lease_seconds ?? 1) };
    case 'cancel':
      return { kind: 'cancelled' };
    case 'skip':
      return { kind: 'skipped' };
    case 'slow':
      return { kind: 'slow' };
    case 'busy':
      return { kind: 'busy', retryInSeconds: BUSY_RETRY_SECONDS };
    case 'throttle':
      // Back a little before its slot (queue delays are whole seconds): then it waits the rest in a lane.
      return { kind: 'throttled', retryInSeconds: Math.max(1, Math.floor((row.wait_ms ?? 1000) / 1000)) };
    case 'probe':
    case 'send':
      return {
        kind: 'send',
        attempt: {
          deliveryId,
          series: row.series,
          webhookId: row.webhook_id,
          accountId: row.account_id,
          isTest: row.is_test,
          attempt: row.attempts ?? 1,
          seriesAttempt: row.series_attempts ?? 1,
          url: row.url,
          timeoutMs: row.timeout_ms,
          maxRetries: row.max_retries,
          signingSecretSealed: row.signing_secret_sealed,
          previousSigningSecretSealed: row.previous_signing_secret_sealed,
          headers: {
            id: row.webhook_id,
            headerNames: row.header_names,
            headersSealed: row.headers_sealed,
            headerValuesSealed: row.header_values_sealed,
          },
          event: { type: row.event_type, occurredAt: row.occurred_at, companyId: row.company_id, data: row.data },
          probe: row.action === 'probe',
          waitMs: row.action === 'send' || row.action === 'probe' ? (row.wait_ms ?? 0) : 0,
        },
      };
  }
}

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
