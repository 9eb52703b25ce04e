// A webhook's health, kept by the statements that change it, and the state-change events they publish
// (WEBHOOK_CIRCUIT_OPENED, WEBHOOK_RECOVERED, WEBHOOK_DISABLED, DELIVERY_EXHAUSTED). SQL fragments that
// recordAttempt (attempts.ts) and PATCH (webhooks/store.ts) splice into their one statement: an attempt
// that changes no state inserts nothing and costs no extra statement; one that does inserts its event
// rows in the same statement, and the consumer then puts them on the fan-out queue (deliver.ts).
//
// No storms: an event is inserted only on a transition (the row before, under its lock, against the row
// after), so at most one per change; DELIVERY_EXHAUSTED at most once an hour per webhook, carrying the
// count of deliveries that failed their last retry since the previous one.
import { type SQL, sql } from 'drizzle-orm';
import { events, webhookAttemptStats } from '../../db/schema.ts';
import type { StateChangeEvent } from '../../events/event-types.ts';
import { latencyBucket } from './latency.ts';
import { iso } from './shared.ts';

/** A state-change event as inserted, to put on the fan-out queue. */
export interface StateEvent {
  accountId: string;
  id: string;
  companyId: string | null;
  type: StateChangeEvent;
  occurredAt: string;
  data: string;
}

/** DELIVERY_EXHAUSTED at most this often per webhook. */
const EXHAUSTED_EVERY = sql`interval '1 hour'`;

/** What the record statement's `webhook_locked` reads: the webhook's state before the attempt. */
export const STATE_BEFORE = sql.raw(
  'id, account_id, company_id, url, name, is_active, circuit_opened_at, failing_since, exhausted_pending, exhausted_notified_at',
);

/** What the record statement's webhook update returns: its state after. */
export const STATE_AFTER = sql.raw(
  'returning w.id, w.is_active, w.circuit_opened_at, w.failing_since, w.consecutive_failures, w.disabled_reason, ' +
    'w.exhausted_notified_at',
);

export interface AttemptHealth {
  success: boolean;
  gone: boolean;
  /** The delivery failed its last retry (and is still this series'). */
  exhausted: SQL;
  autoDisableAfterSeconds: number;
}

/** is_active after the attempt: a 410, or failing without a success for the auto-disable time, disables. */
export function activeAfter(attempt: AttemptHealth): SQL {
  if (attempt.gone) return sql`false`;
  if (attempt.success) return sql`w.is_active`;
  return sql`(w.is_active and not coalesce(w.failing_since <= now() - ${attempt.autoDisableAfterSeconds}::int * interval '1 second', false))`;
}

/** The health columns an attempt sets, beside the circuit's (`w`: the webhook being updated). */
export function healthAssignments(attempt: AttemptHealth): SQL {
  const disabledNow = sql`(w.is_active and not ${activeAfter(attempt)})`;
  const notify = sql`(w.exhausted_notified_at is null or w.exhausted_notified_at <= now() - ${EXHAUSTED_EVERY})`;
  return sql`${
    attempt.success
      ? sql`last_success_at = now(), failing_since = null`
      : sql`last_failure_at = now(), failing_since = coalesce(w.failing_since, now())`
  },
    disabled_reason = case when ${disabledNow} then ${attempt.gone ? 'GONE' : 'FAILING'}::webhook_disabled_reason
      else w.disabled_reason end,
    disabled_at = case when ${disabledNow} then now() else w.disabled_at end,
    exhausted_pending = case when not ${attempt.exhausted} then w.exhausted_pending when ${notify} then 0
      else w.exhausted_pending + 1 end,
    exhausted_notified_at = case when ${attempt.exhausted} and ${notify} then now() else w.exhausted_notified_at end`;
}

/** Why a delivery pending when its webhook was disabled by an attempt was cancelled. */
export const cancelledBecause = (gone: boolean) =>
  gone ? 'not sent: the webhook was deactivated (HTTP 410)' : 'not sent: the webhook was disabled (failing)';

/**
 * The attempt's rollup row: attempts per webhook per 5 minutes, with a latency histogram, upserted here
 * so the stats route sums a few thousand rows instead of reading every attempt.
 */
export function rollupCte(webhookId: string, attempt: { success: boolean; durationMs: number }, when: SQL): SQL {
  const latency = sql.raw(`latency_${latencyBucket(attempt.durationMs)}`);
  const ok = attempt.success ? 1 : 0;
  return sql`rollup as (
    insert into ${webhookAttemptStats} as s (webhook_id, bucket_start, attempts, succeeded, failed, ${latency})
    select ${webhookId}::uuid, to_timestamp(floor(extract(epoch from now()) / 300) * 300), 1, ${ok}::int, ${1 - ok}::int, 1
    where ${when}
    on conflict (webhook_id, bucket_start) do update set attempts = s.attempts + 1,
      succeeded = s.succeeded + ${ok}::int, failed = s.failed + ${1 - ok}::int, ${latency} = s.${latency} + 1
  )`;
}

/** The webhook in a sentence: its name and host, no link. */
const label = (change: string) =>
  sql.raw(`'Webhook ' || coalesce('"' || ${change}.name || '" (' || substring(${change}.url from '^[a-z]+://([^/?#]+)') || ')',
    'to ' || substring(${change}.url from '^[a-z]+://([^/?#]+)'))`);

/**
 * Inserts one event per row of the CTE `changes` (columns: type, account_id, company_id, webhook_id, url,
 * name, reason, failing_since, consecutive_failures, count, http_status, error) and returns them as
 * `state_events`. Each is the service's own, about `webhook_id`: the fan-out never sends it there.
 */
export function insertStateEvents(): SQL {
  const who = label('c');
  const last = sql.raw(`coalesce(c.error, 'HTTP ' || c.http_status)`);
  const summary = sql`case c.type
    when 'WEBHOOK_CIRCUIT_OPENED' then ${who} || ' failed ' || c.consecutive_failures || ' attempts in a row (last: '
      || ${last} || '); its deliveries are paused and skipped until a probe succeeds.'
    when 'WEBHOOK_RECOVERED' then ${who} || ' delivered again; its circuit is closed.'
    when 'DELIVERY_EXHAUSTED' then ${who} || ': ' || c.count || ' deliveries failed their last retry (last: ' || ${last}
      || ').'
    else ${who} || ' was disabled: ' || case c.reason
      when 'GONE' then 'the endpoint answered HTTP 410 Gone.'
      when 'FAILING' then 'no attempt succeeded since ' || ${iso(sql`c.failing_since`)} || '.'
      else 'isActive was set to false.' end
      || ' Fix the endpoint, set isActive to true, then recover what was missed.' end`;
  return sql`state_events as (
    insert into ${events} (account_id, id, company_id, type, occurred_at, data, subject_webhook_id, fanned_out_at)
    select c.account_id, gen_random_uuid()::text, c.company_id, c.type::webhook_event, now(),
      json_build_object('webhookId', c.webhook_id, 'url', c.url, 'name', c.name, 'reason', c.reason,
        'failingSince', ${iso(sql`c.failing_since`)}, 'lastAttempt',
        case when c.http_status is null and c.error is null then null
          else json_build_object('httpStatus', c.http_status, 'error', c.error) end,
        'count', c.count, 'summary', ${summary})::text,
      -- Not fanned out yet: the consumer fans it out from this row, or the minute sweep if its message is lost.
      c.webhook_id, null
    from changes c
    returning account_id, id, company_id, type, occurred_at, data
  )`;
}

/** The record statement's transitions, from `webhook_locked` (before) and `webhook` (after). */
export function attemptChangesCte(attempt: { httpStatus: number | null; error: string | null }): SQL {
  return sql`changes as (
    select change.type, b.account_id, b.company_id, b.id as webhook_id, b.url, b.name, a.disabled_reason as reason,
      coalesce(a.failing_since, b.failing_since) as failing_since, a.consecutive_failures,
      case when change.type = 'DELIVERY_EXHAUSTED' then b.exhausted_pending + 1 end as count,
      ${attempt.httpStatus}::int as http_status, ${attempt.error}::text as error
    from webhook_locked b join webhook a on a.id = b.id
    cross join lateral (values
      ('WEBHOOK_CIRCUIT_OPENED', b.circuit_opened_at is null and a.circuit_opened_at is not null),
      ('WEBHOOK_RECOVERED', b.circuit_opened_at is not null and a.circuit_opened_at is null),
      ('WEBHOOK_DISABLED', b.is_active and not a.is_active),
      ('DELIVERY_EXHAUSTED', a.exhausted_notified_at is distinct from b.exhausted_notified_at)
    ) as change(type, happened)
    where change.happened
  )`;
}

/** The statement's inserted events, as one json column. */
export const STATE_EVENTS_COLUMN = sql`coalesce((select json_agg(json_build_object('accountId', account_id, 'id', id,
  'companyId', company_id, 'type', type, 'occurredAt', ${iso(sql`occurred_at`)}, 'data', data)) from state_events),
  '[]'::json)`;

/**
 * PATCH isActive's columns (`w`: the webhook as it was). Deactivating an active webhook records MANUAL
 * and when. `isActive: true` means "deliver again": the reason goes, the circuit closes and the failure
 * streak starts afresh (else the next failure would disable it again at once).
 */
export function activeAssignments(isActive: boolean): SQL {
  if (!isActive) {
    return sql`disabled_reason = case when w.is_active then 'MANUAL'::webhook_disabled_reason else w.disabled_reason end,
      disabled_at = case when w.is_active then now() else w.disabled_at end`;
  }
  return sql`disabled_reason = null, disabled_at = null, consecutive_failures = 0, circuit_opened_at = null,
    failing_since = null`;
}

/** PATCH's WEBHOOK_DISABLED: when the update (`done`, the resource's columns) just deactivated it. */
export function manualChangesCte(accountId: string): SQL {
  return sql`changes as (
    select 'WEBHOOK_DISABLED' as type, ${accountId}::uuid as account_id, d.company_id, d.id as webhook_id, d.url,
      d.name, d.disabled_reason as reason, d.failing_since, d.consecutive_failures, null::int as count,
      null::int as http_status, null::text as error
    from done d where not d.is_active and d.disabled_at = now()
  )`;
}
