// Events and deliveries in Postgres, one statement per step: fan an event out, claim a delivery for an
// attempt, record the attempt, and the log's reads and replays. The queue carries only ids; everything a
// decision depends on is read and changed under the row locks of the statement that decides.
//
// Lock order: a statement that locks a webhook and some of its deliveries takes the webhook first (a
// materialized CTE, before the deliveries are touched), as the webhook's own writes do (deactivating or
// deleting it locks it, then cancels or deletes its deliveries). Two such statements then queue on the
// webhook instead of each holding what the other waits for.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { fromJson } from '../db/json.ts';
import { retryingConflicts } from '../db/retry.ts';
import { deliveries, deliveryAttempts, events, webhooks } from '../db/schema.ts';
import type { WebhookEvent } from '../events/event-types.ts';
import type { SealedHeaders } from '../webhooks/secrets.ts';
import type { EventForDelivery } from './payload.ts';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** ISO 8601 with milliseconds and Z, as JavaScript writes it, straight from Postgres. */
const iso = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export interface PublishedEvent {
  id: string;
  accountId: string;
  companyId: string | null;
  type: WebhookEvent;
  occurredAt: string;
  data: string;
}

/**
 * Fans one event out in one statement, whatever the number of webhooks: stores the event unless its id
 * was seen for the account already (then nothing new happens), matches the webhooks that receive it,
 * and creates their deliveries. Returns the deliveries still to put on the queue: the new ones, and,
 * when a fan-out is retried, those it created before but never marked enqueued.
 *
 * Who receives it: an active webhook of the account subscribed to the type, whose company is the
 * event's, or which has no company and whose creating key reaches the event's company now (revoking
 * the key later does not silence it). An event without a company reaches only webhooks without one.
 */
export async function fanOut(db: Database, event: PublishedEvent): Promise<{ id: string; series: number }[]> {
  const result = await db.execute<{ id: string; series: number }>(sql`
    with new_event as (
      insert into ${events} (account_id, id, company_id, type, occurred_at, data)
      select a.id, ${event.id}, ${event.companyId}::uuid, ${event.type}::webhook_event,
        ${event.occurredAt}::timestamptz, ${event.data}
      from accounts a
      where a.id = ${event.accountId}::uuid
        and (${event.companyId}::uuid is null
          or exists (select 1 from companies c where c.id = ${event.companyId}::uuid and c.account_id = a.id))
      on conflict (account_id, id) do nothing
      returning account_id, id, company_id, type
    ), targets as (
      select w.id as webhook_id from ${webhooks} w join new_event e on w.account_id = e.account_id
      where w.is_active and e.type = any(w.events) and (
        w.company_id = e.company_id
        or (w.company_id is null and (
          e.company_id is null
          or exists (
            select 1 from api_keys k where k.id = w.api_key_id and (k.all_companies
              or exists (select 1 from api_key_companies g where g.api_key_id = k.id and g.company_id = e.company_id))))))
    ), inserted as (
      insert into ${deliveries} (id, account_id, webhook_id, event_id, event_type)
      select gen_random_uuid(), ${event.accountId}::uuid, t.webhook_id, ${event.id}, ${event.type}::webhook_event
      from targets t
      returning id, series
    )
    select id::text as id, series from inserted
    union all
    select id::text, series from ${deliveries}
    where account_id = ${event.accountId}::uuid and event_id = ${event.id} and status = 'pending' and enqueued_at is null`);
  return result.rows;
}

/** Notes that these deliveries' messages are on the queue: one statement per batch of at most 100. */
export async function markEnqueued(db: Database, ids: string[]): Promise<void> {
  await db.execute(sql`update ${deliveries} set enqueued_at = now() where id = any(${sql.param(ids)}::uuid[])`);
}

/** Deliveries marked queued whose messages could not be sent after all: recover picks them up again. */
export async function markNotEnqueued(db: Database, ids: string[]): Promise<void> {
  await db.execute(sql`update ${deliveries} set enqueued_at = null where id = any(${sql.param(ids)}::uuid[])`);
}

/** A delivery this long past due, and not being attempted, has lost its message. */
const STRANDED_AFTER = sql`interval '15 minutes'`;

/**
 * Marks pending deliveries that have lost their queue message (a send that failed after the database
 * said queued, a message dropped by the queue) queued again, at most `limit`, and returns them for
 * the hourly cron to put back on the queue. A message that was only late makes a duplicate, which the
 * claim ignores.
 */
export async function takeStrandedDeliveries(db: Database, limit: number): Promise<{ id: string; series: number }[]> {
  const result = await db.execute<{ id: string; series: number }>(sql`
    update ${deliveries} set enqueued_at = now()
    where id in (
      select id from ${deliveries}
      where status = 'pending' and (locked_until is null or locked_until < now())
        and coalesce(next_attempt_at, enqueued_at, created_at) < now() - ${STRANDED_AFTER}
      order by created_at limit ${limit}::int
      -- A row someone is changing is left for the next sweep: waiting for it could close a lock cycle.
      for update skip locked)
    returning id::text, series`);
  return result.rows;
}

export interface CircuitSettings {
  coolDownSeconds: number;
  failureThreshold: number;
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
  | { kind: 'send'; attempt: ClaimedAttempt };

/** Time an attempt holds its lease beyond its timeout: enough to record the outcome. */
const LEASE_MARGIN_MS = 30_000;
/** A message this close to its delivery's next attempt is not early. */
const EARLY_TOLERANCE = sql`interval '2 seconds'`;

type ClaimRow = {
  action: 'settled' | 'leased' | 'early' | 'cancel' | 'skip' | 'probe' | 'send';
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
): Promise<Claim> {
  const result = await retryingConflicts(() =>
    db.execute<ClaimRow>(sql`
    with webhook as materialized (
      select w.id, w.is_active, w.circuit_opened_at, w.url, w.timeout_ms, w.max_retries, w.header_names,
        w.headers_sealed, w.header_values_sealed, w.signing_secret_sealed,
        case when w.previous_secret_expires_at > now() then w.previous_signing_secret_sealed end
          as previous_signing_secret_sealed
      from ${webhooks} w
      where w.id = (select webhook_id from ${deliveries} where id = ${deliveryId}::uuid)
      for no key update
    ), target as (
      select d.id, d.series, d.status, d.next_attempt_at, d.locked_until, d.is_test, d.webhook_id, d.account_id,
        d.event_id, w.is_active, w.circuit_opened_at, w.url, w.timeout_ms, w.max_retries, w.header_names,
        w.headers_sealed, w.header_values_sealed, w.signing_secret_sealed, w.previous_signing_secret_sealed
      from ${deliveries} d join webhook w on w.id = d.webhook_id
      where d.id = ${deliveryId}::uuid
      for update of d
    ), decision as (
      select target.*, case
        when status <> 'pending' or series <> ${series}::int then 'settled'
        when locked_until > now() then 'leased'
        when next_attempt_at > now() + ${EARLY_TOLERANCE} then 'early'
        when not is_active then 'cancel'
        when circuit_opened_at > now() - ${circuit.coolDownSeconds}::int * interval '1 second' then 'skip'
        when circuit_opened_at is not null then 'probe'
        else 'send' end as action
      from target
    ), probe as (
      update ${webhooks} set circuit_opened_at = now(), revision = revision + 1
      where id = (select webhook_id from decision where action = 'probe')
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
        locked_until = case when decision.action in ('send', 'probe')
          then now() + (decision.timeout_ms + ${LEASE_MARGIN_MS}::int) * interval '1 millisecond' end
      from decision
      where d.id = decision.id and decision.action in ('send', 'probe', 'cancel', 'skip')
      returning d.attempts, d.series_attempts
    )
    select decision.action, ceil(extract(epoch from (decision.locked_until - now())))::int as lease_seconds,
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
): Promise<{ pending: boolean }> {
  const status: DeliveryStatus = outcome.success ? 'succeeded' : outcome.nextAttemptAt ? 'pending' : 'failed';
  const failures = outcome.success ? sql`0` : sql`w.consecutive_failures + 1`;
  const circuitOpenedAt = outcome.success
    ? sql`null::timestamptz`
    : sql`case when w.circuit_opened_at is null and w.consecutive_failures + 1 >= ${circuit.failureThreshold}::int
        then now() else w.circuit_opened_at end`;
  const active = outcome.gone ? sql`false` : sql`w.is_active`;
  // This message's series, and not cancelled meanwhile: only then is the outcome the delivery's state.
  const current = sql`(d.series = ${claim.series}::int and d.status <> 'cancelled')`;
  const result = await retryingConflicts(() =>
    db.execute<{ pending: boolean | null }>(sql`
    with webhook_locked as materialized (
      select id from ${webhooks} where id = ${claim.webhookId}::uuid for no key update
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
      returning d.id, ${current} and ${status === 'pending'} as pending
    ), webhook as (
      update ${webhooks} w set consecutive_failures = ${failures}, circuit_opened_at = ${circuitOpenedAt},
        is_active = ${active},
        revision = w.revision + case when (w.consecutive_failures, w.circuit_opened_at, w.is_active)
          is distinct from (${failures}, ${circuitOpenedAt}, ${active}) then 1 else 0 end
      where w.id = ${claim.webhookId}::uuid and not ${claim.isTest} and exists (select 1 from delivery)
    ), cancelled as (
      update ${deliveries} set status = 'cancelled', last_error = 'not sent: the webhook was deactivated (HTTP 410)',
        next_attempt_at = null
      where webhook_id = ${claim.webhookId}::uuid and status = 'pending' and id <> ${claim.deliveryId}::uuid
        and ${outcome.gone} and not ${claim.isTest} and exists (select 1 from delivery)
    )
    select (select pending from delivery) as pending`),
  );
  return { pending: result.rows[0]?.pending === true };
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

const RETENTION = sql`interval '30 days'`;
const PURGE_BATCH = 1_000;

/** Drops events older than 30 days, their deliveries and attempts with them, in bounded batches. */
export async function purgeOldEvents(db: Database): Promise<number> {
  let purged = 0;
  for (;;) {
    const result = await db.execute(sql`
      delete from ${events} where (account_id, id) in (
        select account_id, id from ${events} where created_at < now() - ${RETENTION} limit ${PURGE_BATCH})`);
    const deleted = result.rowCount ?? 0;
    purged += deleted;
    if (deleted < PURGE_BATCH) return purged;
  }
}

// ---- the delivery log and replays (routes.ts) -------------------------------------------------------

/** A delivery as its log lists it. */
export interface DeliveryRow {
  id: string;
  eventId: string;
  event: WebhookEvent;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  isTest: boolean;
  createdAt: string;
}

const DELIVERY_COLUMNS = sql`d.id, d.event_id as "eventId", d.event_type as event, d.status, d.attempts,
  ${iso(sql`d.last_attempt_at`)} as "lastAttemptAt", ${iso(sql`d.next_attempt_at`)} as "nextAttemptAt",
  d.last_http_status as "lastHttpStatus", d.last_error as "lastError", d.is_test as "isTest",
  ${iso(sql`d.created_at`)} as "createdAt"`;

/** The webhook a log route is about, as seen by the key asking (webhooks/store.ts's reachability). */
export interface LogTarget {
  webhookId: string;
  accountId: string;
  /** True where the key may see webhook `w`: the webhook's own access rule, as SQL. */
  reachable: SQL;
}

type Located<T> = { found: boolean; reachable: boolean } & T;

/**
 * The webhook, looked up in the key's account, and whether the key reaches it: the head of every log
 * query. `forWrite`, for a statement that changes its deliveries, locks it first (lock order, above).
 */
const target = (log: LogTarget, forWrite = false) => sql`target as ${forWrite ? sql`materialized ` : sql``}(
  select w.id, ${log.reachable} as reachable from ${webhooks} w
  where w.id = ${log.webhookId}::uuid and w.account_id = ${log.accountId}::uuid${forWrite ? sql` for no key update` : sql``}
)`;
const located = sql`exists (select 1 from target) as found, coalesce((select reachable from target), false) as reachable`;

export interface DeliveryFilters {
  status?: DeliveryStatus;
  event?: WebhookEvent;
}

export interface DeliveryPosition {
  createdAt: string;
  id: string;
}

/** One page of a webhook's deliveries, newest first: one statement with the access check. */
export async function listDeliveries(
  db: Database,
  log: LogTarget,
  filters: DeliveryFilters,
  limit: number,
  after: DeliveryPosition | undefined,
): Promise<Located<{ items: (DeliveryRow & { position: string })[] }>> {
  const conditions: SQL[] = [sql`d.webhook_id = (select id from target where reachable)`];
  if (filters.status) conditions.push(sql`d.status = ${filters.status}::delivery_status`);
  if (filters.event) conditions.push(sql`d.event_type = ${filters.event}::webhook_event`);
  if (after) conditions.push(sql`(d.created_at, d.id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
  const result = await db.execute<Located<{ items: string | (DeliveryRow & { position: string })[] }>>(sql`
    with ${target(log)}, page as (
      select ${DELIVERY_COLUMNS}, d.created_at::text as position from ${deliveries} d
      where ${sql.join(conditions, sql` and `)}
      order by d.created_at desc, d.id desc limit ${limit + 1}::int
    )
    select ${located}, coalesce((select json_agg(page) from page), '[]'::json) as items`);
  const row = result.rows[0] ?? { found: false, reachable: false, items: [] };
  return { found: row.found, reachable: row.reachable, items: fromJson(row.items) };
}

export interface AttemptRow {
  number: number;
  startedAt: string;
  httpStatus: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export interface DeliveryDetail extends DeliveryRow {
  payloadEvent: EventForDelivery;
  attemptLog: AttemptRow[];
}

/** One delivery of the webhook, its event and every attempt: one statement with the access check. */
export async function findDelivery(
  db: Database,
  log: LogTarget,
  deliveryId: string,
): Promise<Located<{ delivery: DeliveryDetail | null }>> {
  const result = await db.execute<Located<{ delivery: string | DeliveryDetail | null }>>(sql`
    with ${target(log)}, found_delivery as (
      select ${DELIVERY_COLUMNS},
        json_build_object('type', e.type, 'occurredAt', ${iso(sql`e.occurred_at`)}, 'companyId', e.company_id,
          'data', e.data) as "payloadEvent",
        coalesce((select json_agg(json_build_object('number', a.number, 'startedAt', ${iso(sql`a.started_at`)},
            'httpStatus', a.http_status, 'durationMs', a.duration_ms, 'error', a.error,
            'responseExcerpt', a.response_excerpt) order by a.number)
          from ${deliveryAttempts} a where a.delivery_id = d.id), '[]'::json) as "attemptLog"
      from ${deliveries} d join ${events} e on e.account_id = d.account_id and e.id = d.event_id
      where d.id = ${deliveryId}::uuid and d.webhook_id = (select id from target where reachable)
    )
    select ${located}, (select row_to_json(found_delivery) from found_delivery) as delivery`);
  const row = result.rows[0] ?? { found: false, reachable: false, delivery: null };
  return { found: row.found, reachable: row.reachable, delivery: fromJson(row.delivery) };
}

/**
 * Starts a new series of attempts for deliveries of the webhook: the same delivery ids, pending again,
 * attempted at once. Messages of the old series are ignored when they come; an attempt in flight keeps
 * its lease, so the new series waits for it rather than sending alongside. Returns what to enqueue.
 */
export async function restartDeliveries(
  db: Database,
  log: LogTarget,
  which: { deliveryId: string } | { since: string; statuses: DeliveryStatus[]; limit: number },
): Promise<Located<{ restarted: { id: string; series: number }[] }>> {
  let selection: SQL;
  if ('deliveryId' in which) {
    selection = sql`d.id = ${which.deliveryId}::uuid`;
  } else {
    // Recover takes the statuses asked for, and what an earlier recover marked but could not queue
    // (enqueued_at null); never test deliveries: a PING is sent again only when asked for by id.
    const recoverable = (row: SQL) => sql`not ${row}.is_test
      and (${row}.status = any(${sql.param(which.statuses)}::delivery_status[])
        or (${row}.status = 'pending' and ${row}.enqueued_at is null))`;
    // Checked again on the row itself: the subquery reads the statement's snapshot, from before the wait
    // for the webhook's lock, and only conditions on d are checked against a row changed meanwhile (one
    // that just succeeded, say). A delivery whose attempt is in flight is not taken either.
    selection = sql`d.id in (select r.id from ${deliveries} r
        where r.webhook_id = (select id from target where reachable) and ${recoverable(sql`r`)}
          and r.created_at >= ${which.since}::timestamptz
        order by r.created_at limit ${which.limit}::int)
      and ${recoverable(sql`d`)} and (d.locked_until is null or d.locked_until < now())`;
  }
  const result = await retryingConflicts(() =>
    db.execute<Located<{ restarted: string | { id: string; series: number }[] }>>(sql`
    with ${target(log, true)}, restarted as (
      update ${deliveries} d set status = 'pending', series = d.series + 1, series_attempts = 0,
        next_attempt_at = now(), enqueued_at = now()
      where d.webhook_id = (select id from target where reachable) and ${selection}
      returning d.id, d.series
    )
    select ${located}, coalesce((select json_agg(restarted) from restarted), '[]'::json) as restarted`),
  );
  const row = result.rows[0] ?? { found: false, reachable: false, restarted: [] };
  return { found: row.found, reachable: row.reachable, restarted: fromJson(row.restarted) };
}

/** What a test delivery was sent to, read in one statement with the access check. */
export interface TestTarget {
  webhookId: string;
  companyId: string | null;
  events: WebhookEvent[];
  url: string;
  timeoutMs: number;
  signingSecretSealed: string;
  previousSigningSecretSealed: string | null;
  headers: SealedHeaders;
}

export async function findTestTarget(db: Database, log: LogTarget): Promise<Located<{ webhook: TestTarget | null }>> {
  const result = await db.execute<
    Located<{
      company_id: string | null;
      events: WebhookEvent[] | null;
      url: string | null;
      timeout_ms: number | null;
      signing_secret_sealed: string | null;
      previous_signing_secret_sealed: string | null;
      header_names: string[] | null;
      headers_sealed: string | null;
      header_values_sealed: string | null;
    }>
  >(sql`
    with ${target(log)}
    select ${located}, w.company_id, w.events::text[] as events, w.url, w.timeout_ms, w.signing_secret_sealed,
      case when w.previous_secret_expires_at > now() then w.previous_signing_secret_sealed end
        as previous_signing_secret_sealed,
      w.header_names, w.headers_sealed, w.header_values_sealed
    from (select 1) one left join ${webhooks} w on w.id = (select id from target where reachable)`);
  const row = result.rows[0];
  if (!row?.found || !row.reachable || row.url === null) {
    return { found: row?.found ?? false, reachable: row?.reachable ?? false, webhook: null };
  }
  return {
    found: true,
    reachable: true,
    webhook: {
      webhookId: log.webhookId,
      companyId: row.company_id,
      events: row.events ?? [],
      url: row.url,
      timeoutMs: row.timeout_ms ?? 30_000,
      signingSecretSealed: row.signing_secret_sealed ?? '',
      previousSigningSecretSealed: row.previous_signing_secret_sealed,
      headers: {
        id: log.webhookId,
        headerNames: row.header_names ?? [],
        headersSealed: row.headers_sealed,
        headerValuesSealed: row.header_values_sealed,
      },
    },
  };
}

/** Records a test delivery, its PING event and its one attempt, in one statement, after it was sent. */
export async function recordTestDelivery(
  db: Database,
  test: { deliveryId: string; webhookId: string; accountId: string; event: EventForDelivery; startedAt: Date },
  outcome: {
    success: boolean;
    httpStatus: number | null;
    durationMs: number;
    error: string | null;
    responseExcerpt: string | null;
  },
): Promise<void> {
  const eventId = `test:${test.deliveryId}`;
  await db.execute(sql`
    with event as (
      insert into ${events} (account_id, id, company_id, type, occurred_at, data)
      values (${test.accountId}::uuid, ${eventId}, ${test.event.companyId}::uuid, 'PING',
        ${test.event.occurredAt}::timestamptz, ${test.event.data})
    ), delivery as (
      insert into ${deliveries} (id, account_id, webhook_id, event_id, event_type, status, is_test, attempts,
        series_attempts, last_attempt_at, last_http_status, last_error, enqueued_at, created_at)
      values (${test.deliveryId}::uuid, ${test.accountId}::uuid, ${test.webhookId}::uuid, ${eventId}, 'PING',
        ${outcome.success ? 'succeeded' : 'failed'}::delivery_status, true, 1, 1,
        ${test.startedAt.toISOString()}::timestamptz, ${outcome.httpStatus}::int, ${outcome.error}, now(),
        ${test.startedAt.toISOString()}::timestamptz)
    )
    insert into ${deliveryAttempts} (delivery_id, number, started_at, http_status, duration_ms, error, response_excerpt)
    values (${test.deliveryId}::uuid, 1, ${test.startedAt.toISOString()}::timestamptz, ${outcome.httpStatus}::int,
      ${outcome.durationMs}::int, ${outcome.error}, ${outcome.responseExcerpt})`);
}
