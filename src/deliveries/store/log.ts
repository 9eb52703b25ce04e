// The delivery log and replays (routes.ts): a webhook's deliveries and their attempts, read and replayed
// in one statement each, with the access check inside it.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { fromJson } from '../../db/json.ts';
import { retryingConflicts } from '../../db/retry.ts';
import { deliveries, deliveryAttempts, events, webhooks } from '../../db/schema.ts';
import type { WebhookEvent } from '../../events/event-types.ts';
import type { SealedHeaders } from '../../webhooks/secrets.ts';
import type { EventForDelivery } from '../payload.ts';
import { type DeliveryStatus, iso } from './shared.ts';

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
  select w.id, w.circuit_opened_at, ${log.reachable} as reachable from ${webhooks} w
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
  /** The newest `limit` attempts numbered below `before`, oldest of them first. */
  attemptLog: AttemptRow[];
  /** Every attempt the delivery has had logged. */
  attemptCount: number;
}

/**
 * One delivery of the webhook, its event and a page of its attempts (the newest `limit` numbered
 * below `before`, when given): one statement with the access check. A delivery sent again and again
 * has as many attempts; the page keeps the answer bounded.
 */
export async function findDelivery(
  db: Database,
  log: LogTarget,
  deliveryId: string,
  attempts: { limit: number; before?: number },
): Promise<Located<{ delivery: DeliveryDetail | null }>> {
  const before = attempts.before === undefined ? sql`` : sql`and a.number < ${attempts.before}::int`;
  const result = await db.execute<Located<{ delivery: string | DeliveryDetail | null }>>(sql`
    with ${target(log)}, found_delivery as (
      select ${DELIVERY_COLUMNS},
        json_build_object('type', e.type, 'occurredAt', ${iso(sql`e.occurred_at`)}, 'companyId', e.company_id,
          'data', e.data) as "payloadEvent",
        coalesce((select json_agg(json_build_object('number', a.number, 'startedAt', ${iso(sql`a.started_at`)},
            'httpStatus', a.http_status, 'durationMs', a.duration_ms, 'error', a.error,
            'responseExcerpt', a.response_excerpt) order by a.number)
          from (select * from ${deliveryAttempts} a where a.delivery_id = d.id ${before}
            order by a.number desc limit ${attempts.limit}::int) a), '[]'::json) as "attemptLog",
        (select count(*) from ${deliveryAttempts} a where a.delivery_id = d.id)::int as "attemptCount"
      from ${deliveries} d join ${events} e on e.account_id = d.account_id and e.id = d.event_id
      where d.id = ${deliveryId}::uuid and d.webhook_id = (select id from target where reachable)
    )
    select ${located}, (select row_to_json(found_delivery) from found_delivery) as delivery`);
  const row = result.rows[0] ?? { found: false, reachable: false, delivery: null };
  return { found: row.found, reachable: row.reachable, delivery: fromJson(row.delivery) };
}

/** A delivery restarted as a new series: what its message carries, and where it sits in recover's order. */
export interface Restarted {
  id: string;
  series: number;
  position: string;
}

/** Recover's choice: the statuses asked for, created since then, after a position, at most `limit`. */
export interface RecoverSelection {
  since: string;
  statuses: DeliveryStatus[];
  limit: number;
  after?: DeliveryPosition;
}

/** A pending first series never marked queued, this old, has lost its message (events.ts's sweep agrees). */
const STRANDED_AFTER = sql`interval '15 minutes'`;

/**
 * Starts a new series of attempts for deliveries of the webhook: the same delivery ids, pending again,
 * attempted at once. Messages of the old series are ignored when they come; an attempt in flight keeps
 * its lease, so the new series waits for it rather than sending alongside. Returns what to enqueue.
 */
export async function restartDeliveries(
  db: Database,
  log: LogTarget,
  which: { deliveryId: string } | RecoverSelection,
): Promise<Located<{ restarted: Restarted[]; circuitOpenedAt: string | null }>> {
  let selection: SQL;
  if ('deliveryId' in which) {
    selection = sql`d.id = ${which.deliveryId}::uuid`;
  } else {
    // Recover takes the statuses asked for, and what an earlier recover marked but could not queue
    // (enqueued_at null on a restarted series); never test deliveries: a PING is sent again only when
    // asked for by id. A first series not marked queued is the fan-out's: its message may be on the
    // queue already (sent, then the mark failed), so only the sweep's age makes it recover's.
    const recoverable = (row: SQL) => sql`not ${row}.is_test
      and (${row}.status = any(${sql.param(which.statuses)}::delivery_status[])
        or (${row}.status = 'pending' and ${row}.enqueued_at is null
          and (${row}.series > 1 or ${row}.created_at < now() - ${STRANDED_AFTER})))`;
    const after = which.after
      ? sql`and (r.created_at, r.id) > (${which.after.createdAt}::timestamptz, ${which.after.id}::uuid)`
      : sql``;
    // Checked again on the row itself: the subquery reads the statement's snapshot, from before the wait
    // for the webhook's lock, and only conditions on d are checked against a row changed meanwhile (one
    // that just succeeded, say). A delivery whose attempt is in flight is not taken either.
    // Never into an open circuit: every delivery would be claimed only to be skipped again (routes.ts 409).
    selection = sql`d.id in (select r.id from ${deliveries} r
        where r.webhook_id = (select id from target where reachable) and ${recoverable(sql`r`)}
          and r.created_at >= ${which.since}::timestamptz ${after}
        order by r.created_at, r.id limit ${which.limit}::int)
      and ${recoverable(sql`d`)} and (d.locked_until is null or d.locked_until < now())
      and (select circuit_opened_at from target) is null`;
  }
  const result = await retryingConflicts(() =>
    db.execute<Located<{ restarted: string | Restarted[]; circuitOpenedAt: string | null }>>(sql`
    with ${target(log, true)}, restarted as (
      update ${deliveries} d set status = 'pending', series = d.series + 1, series_attempts = 0,
        next_attempt_at = now(), enqueued_at = now()
      where d.webhook_id = (select id from target where reachable) and ${selection}
      returning d.id, d.series, d.created_at::text as position
    )
    select ${located}, (select ${iso(sql`circuit_opened_at`)} from target where reachable) as "circuitOpenedAt",
      coalesce((select json_agg(restarted order by position::timestamptz, id) from restarted), '[]'::json) as restarted`),
  );
  const row = result.rows[0] ?? { found: false, reachable: false, restarted: [], circuitOpenedAt: null };
  return {
    found: row.found,
    reachable: row.reachable,
    restarted: fromJson(row.restarted),
    circuitOpenedAt: row.circuitOpenedAt,
  };
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
