// Claims: what to do with a group of delivery messages, decided in one statement under the row locks of
// the deliveries and their webhooks, and for each one to send, a lease for one attempt. The consumer's
// lanes ask for their next claim together (deliver.ts): one statement serves every lane that is ready.
//
// Lock order: the webhooks first, by id (a materialized CTE), then the deliveries, by id, as every
// statement that takes both does (deactivating or deleting a webhook locks it, then cancels or deletes
// its deliveries). Two such statements then queue on a webhook instead of each holding what the other
// waits for.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { retryingConflicts } from '../../db/retry.ts';
import { deliveries, events, webhooks } from '../../db/schema.ts';
import type { WebhookEvent } from '../../events/event-types.ts';
import type { SealedHeaders } from '../../webhooks/secrets.ts';
import type { EventForDelivery } from '../payload.ts';
import { type DeliveryQueue, homeQueue } from '../queues.ts';
import { iso } from './shared.ts';

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
  /** When to send (epoch ms): the rate-limit slot this attempt holds, under a second off; null: at once. */
  sendAt: number | null;
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
   * Its webhook's deliveries belong on another queue (queues.ts: the paced one for a rate limit, the
   * slow lane for a webhook that timed out or answered slowly lately): the message moves there.
   */
  | { kind: 'move'; to: Exclude<DeliveryQueue, 'main'> }
  /** Its webhook has its share of attempts in flight already (fair lanes): try again shortly. */
  | { kind: 'busy'; retryInSeconds: number }
  /** Over its webhook's rate limit: a slot is reserved for it; it waits until then. Not an attempt. */
  | { kind: 'throttled'; retryInSeconds: number }
  | { kind: 'send'; attempt: ClaimedAttempt };

/** A message to claim for: which delivery, and which series of its attempts the message carries. */
export interface ClaimRequest {
  deliveryId: string;
  series: number;
}

/** Time an attempt holds its lease beyond its timeout: enough to record the outcome. */
const LEASE_MARGIN_MS = 30_000;
/** A message this close to its delivery's next attempt is not early. */
const EARLY_TOLERANCE = sql`interval '2 seconds'`;
/**
 * Attempts one webhook may have in flight at once, across the service: 3 of one consumer invocation's
 * 5 sending lanes (deliver.ts SENDING_LANES), so a hanging or slow endpoint never holds them all.
 * Counted from the webhook's `lanes` (delivery id → lease end) under its row lock: a crashed attempt's
 * lane frees itself when its lease ends.
 */
export const MAX_LANES_PER_WEBHOOK = 3;
/** A delivery whose webhook has no free lane comes back this much later. */
const BUSY_RETRY_SECONDS = 1;
/**
 * A rate-limit slot this close is waited for in the lane; a later one is reserved and its message goes
 * back to the queue, to return a second or more before it (queue delays are whole seconds, and late).
 */
const SLOT_WAIT_MS = 2000;
/** A reserved slot this far past is still sent in (late by a claim's time): one later is given up. */
const STALE_SLOT_MS = 250;
/**
 * An attempt that timed out or took this long (or is still in flight after it) puts its webhook in the
 * slow lane for 10 minutes (attempts.ts): its deliveries then go through the webhook-deliveries-slow
 * queue, whose consumers no healthy webhook waits behind (README "The slow lane").
 */
export const SLOW_ATTEMPT_MS = 5000;

type ClaimRow = {
  id: string;
  action: 'settled' | 'leased' | 'early' | 'cancel' | 'skip' | 'move' | 'busy' | 'throttle' | 'probe' | 'send';
  home: DeliveryQueue;
  wait_ms: number | null;
  slot_ms: number | null;
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
 * Decides what to do with each message of a group and, for each to send, leases its delivery for one
 * attempt: one statement, under the deliveries' and their webhooks' row locks, so that two messages for
 * one delivery never both send and an open circuit lets exactly one probe through after its cool-down.
 * Within the group, a webhook's deliveries take its free lanes and its rate-limit slots in the order
 * asked. Requests must name distinct deliveries (deliver.ts sends a duplicate back instead). Returns a
 * claim per request, in order.
 */
export async function claimDeliveries(
  db: Database,
  requests: readonly ClaimRequest[],
  circuit: CircuitSettings,
  queue: DeliveryQueue,
): Promise<Claim[]> {
  // A group never waits for a row someone else holds (a webhook being deactivated, a recover): what it
  // skips is claimed alone afterwards, waiting then. So one customer's long write holds only its own.
  const lockMode = requests.length > 1 ? sql`skip locked` : sql``;
  const asked = JSON.stringify(
    requests.map(({ deliveryId, series }, ord) => ({ delivery_id: deliveryId, series, ord })),
  );
  const result = await retryingConflicts(() =>
    db.execute<ClaimRow>(sql`
    with request as (
      select * from json_to_recordset(${asked}::json) as r(delivery_id uuid, series int, ord int)
    ), webhook as materialized (
      select w.id, w.is_active, w.circuit_opened_at, w.url, w.timeout_ms, w.max_retries, w.header_names,
        w.headers_sealed, w.header_values_sealed, w.signing_secret_sealed,
        case when w.previous_secret_expires_at > now() then w.previous_signing_secret_sealed end
          as previous_signing_secret_sealed,
        w.rate_limit_per_second, w.rate_next_at,
        -- Where its deliveries belong (queues.ts); in the slow lane too while an attempt of it has been in
        -- flight for SLOW_ATTEMPT_MS already (a lane's lease ends its timeout and margin after it began).
        ${homeQueue(sql`exists (select 1 from jsonb_each_text(w.lanes) l
          where l.value::timestamptz > now() and l.value::timestamptz
            - (w.timeout_ms + ${LEASE_MARGIN_MS}::int - ${SLOW_ATTEMPT_MS}::int) * interval '1 millisecond' < now())`)} as home,
        (select count(*) from jsonb_each_text(w.lanes) l where l.value::timestamptz > now())::int as lanes_busy
      from ${webhooks} w
      where w.id in (select d.webhook_id from ${deliveries} d join request r on r.delivery_id = d.id)
      order by w.id
      for no key update ${lockMode}
    ), target as materialized (
      select d.id, r.ord, r.series as asked_series, d.series, d.status, d.next_attempt_at, d.locked_until,
        d.is_test, d.webhook_id, d.account_id, d.event_id,
        -- A reserved rate-limit slot long past (its message came back late) is not sent in: it would
        -- bunch with the slots after it. The delivery takes a new one.
        case when d.rate_slot_at >= now() - ${STALE_SLOT_MS}::int * interval '1 millisecond'
          then d.rate_slot_at end as rate_slot_at, w.is_active, w.circuit_opened_at, w.url,
        w.timeout_ms, w.max_retries, w.header_names, w.headers_sealed, w.header_values_sealed,
        w.signing_secret_sealed, w.previous_signing_secret_sealed, w.rate_limit_per_second, w.rate_next_at,
        w.lanes_busy, w.home
      from ${deliveries} d join request r on r.delivery_id = d.id join webhook w on w.id = d.webhook_id
      order by d.id
      for update of d ${lockMode}
    ), screened as (
      -- What each message meets before it would need a lane of its webhook.
      select target.*, case
        when status <> 'pending' or series <> asked_series then 'settled'
        when locked_until > now() then 'leased'
        when next_attempt_at > now() + ${EARLY_TOLERANCE} then 'early'
        when not is_active then 'cancel'
        when circuit_opened_at > now() - ${circuit.coolDownSeconds}::int * interval '1 second' then 'skip'
        when home <> ${queue} and home <> 'main' then 'move'
        end as pre_action
      from target
    ), slotted as (
      -- The rate-limit slot each would go at: the one it holds, or the webhook's next free ones in order.
      select screened.*, case when rate_limit_per_second is not null and pre_action is null then coalesce(rate_slot_at,
          greatest(rate_next_at, now()) + (count(*) filter (where rate_slot_at is null)
            over (partition by webhook_id, pre_action is null order by ord) - 1)
            * (1000.0 / rate_limit_per_second) * interval '1 millisecond') end as slot
      from screened
    ), paced as (
      -- A slot further off than SLOT_WAIT_MS is reserved and waited for on the queue, without a lane.
      select slotted.*, coalesce(pre_action,
        case when slot > now() + ${SLOT_WAIT_MS}::int * interval '1 millisecond' then 'throttle' end) as paced_action
      from slotted
    ), laned as (
      -- Those left take their webhook's free lanes in the order asked.
      select paced.*, coalesce(paced_action, case
        when lanes_busy + row_number() over (partition by webhook_id, paced_action is null order by ord)
          > ${MAX_LANES_PER_WEBHOOK}::int then 'busy' end) as lane_action
      from paced
    ), decided as (
      -- An open circuit past its cool-down lets the first of them through as its probe; the rest are skipped.
      select laned.*, coalesce(lane_action, case
        when circuit_opened_at is null then 'send'
        when row_number() over (partition by webhook_id, lane_action is null order by ord) = 1 then 'probe'
        else 'skip' end) as action,
        greatest(0, ceil(extract(epoch from (slot - now())) * 1000))::int as wait_ms
      from laned
    ), decision as (
      select decided.*,
        now() + (timeout_ms + ${LEASE_MARGIN_MS}::int + coalesce(wait_ms, 0)) * interval '1 millisecond' as lease_until
      from decided
    ), per_webhook as (
      select webhook_id, bool_or(action = 'probe') as probe,
        jsonb_object_agg(id::text, lease_until) filter (where action in ('send', 'probe')) as leases,
        max(slot) filter (where rate_slot_at is null and action in ('send', 'probe', 'throttle'))
          + (1000.0 / max(rate_limit_per_second)) * interval '1 millisecond' as rate_next_at
      from decision group by webhook_id
    ), webhook_changed as (
      -- One update per webhook for all the claim changes on it: the probe's new opening, the lanes its
      -- attempts take (expired ones dropped), the rate-limit slots taken or reserved.
      update ${webhooks} w set
        circuit_opened_at = case when c.probe then now() else w.circuit_opened_at end,
        revision = w.revision + case when c.probe then 1 else 0 end,
        lanes = case when c.leases is not null then
            coalesce((select jsonb_object_agg(l.key, l.value) from jsonb_each_text(w.lanes) l
              where l.value::timestamptz > now()), '{}'::jsonb) || c.leases
          else w.lanes end,
        rate_next_at = coalesce(c.rate_next_at, w.rate_next_at)
      from per_webhook c
      where w.id = c.webhook_id and (c.probe or c.leases is not null or c.rate_next_at is not null)
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
        -- Sent back to wait for a lane, or moved to its queue: a message is on its way again, so the
        -- minute sweep (store/events.ts DUE) does not take it as lost while it waits.
        enqueued_at = case when decision.action in ('busy', 'move') then now() else d.enqueued_at end
      from decision
      where d.id = decision.id and decision.action in ('send', 'probe', 'cancel', 'skip', 'move', 'busy', 'throttle')
      returning d.id, d.attempts, d.series_attempts
    )
    select decision.id::text as id, decision.action, decision.home, decision.wait_ms,
      (extract(epoch from decision.slot) * 1000)::float8 as slot_ms,
      ceil(extract(epoch from (decision.locked_until - now())))::int as lease_seconds,
      ceil(extract(epoch from (decision.next_attempt_at - now())))::int as due_seconds,
      decision.series, decision.webhook_id, decision.account_id, decision.is_test, decision.url, decision.timeout_ms,
      decision.max_retries, decision.header_names, decision.headers_sealed, decision.header_values_sealed,
      decision.signing_secret_sealed, decision.previous_signing_secret_sealed,
      marked.attempts, marked.series_attempts,
      e.type as event_type, ${iso(sql`e.occurred_at`)} as occurred_at, e.company_id, e.data
    from decision
    left join marked on marked.id = decision.id
    join ${events} e on e.account_id = decision.account_id and e.id = decision.event_id`),
  );
  const rows = new Map(result.rows.map((row) => [row.id, row]));
  const claims: Claim[] = [];
  for (const request of requests) {
    const row = rows.get(request.deliveryId);
    if (row) claims.push(claimOf(request.deliveryId, row));
    else if (requests.length === 1) claims.push({ kind: 'missing' });
    // Missing from a group: gone, or skipped as locked. Alone, it waits for the lock and says which.
    else claims.push(...(await claimDeliveries(db, [request], circuit, queue)));
  }
  return claims;
}

function claimOf(deliveryId: string, row: ClaimRow): Claim {
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
    case 'move':
      return { kind: 'move', to: row.home === 'paced' ? 'paced' : 'slow' };
    case 'busy':
      return { kind: 'busy', retryInSeconds: BUSY_RETRY_SECONDS };
    case 'throttle':
      // Back a second or more before its slot (queue delays are whole seconds, and a trip may be late):
      // then it waits the rest in a lane.
      return { kind: 'throttled', retryInSeconds: Math.max(1, Math.floor((row.wait_ms ?? 2000) / 1000) - 1) };
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
          sendAt: row.slot_ms,
        },
      };
  }
}

/** What became of a claim that waited for a lane (renewLease). */
export type Renewal = 'renewed' | 'released' | 'lapsed';

/**
 * Renews the lease of a claim that waited for a lane (deliver.ts: claims made ahead), as if it had been
 * made now: the delivery's and its webhook lane's ('renewed': send it). When what it was made from has
 * changed meanwhile (its webhook's circuit opened, but for the probe that opened it anew; its URL,
 * signing secret or headers changed), the claim is undone instead: the lease and the lane given back, the
 * attempt it counted taken back, and a probe's reopening of the circuit too, so that a claim made afresh
 * may probe at once ('released': not sent; that claim decides). 'lapsed': the claim no longer holds (the
 * delivery was cancelled, deleted or settled, or its lease ran out). Locks the webhook first, as every
 * statement that takes both does.
 */
export async function renewLease(db: Database, claim: ClaimedAttempt, coolDownSeconds: number): Promise<Renewal> {
  const result = await retryingConflicts(() =>
    db.execute<{ unchanged: boolean }>(sql`
    with webhook as materialized (
      select w.id, (w.url = ${claim.url} and w.signing_secret_sealed = ${claim.signingSecretSealed}
          and w.headers_sealed is not distinct from ${claim.headers.headersSealed}
          and w.header_values_sealed is not distinct from ${claim.headers.headerValuesSealed}
          and (w.circuit_opened_at is null or ${claim.probe})) as unchanged
      from ${webhooks} w where w.id = ${claim.webhookId}::uuid
      for no key update
    ), renewed as (
      update ${deliveries} d set
        locked_until = case when webhook.unchanged
          then now() + (${claim.timeoutMs}::int + ${LEASE_MARGIN_MS}::int) * interval '1 millisecond' end,
        attempts = d.attempts - case when webhook.unchanged then 0 else 1 end,
        series_attempts = d.series_attempts - case when webhook.unchanged then 0 else 1 end
      from webhook
      where d.id = ${claim.deliveryId}::uuid and d.webhook_id = webhook.id and d.series = ${claim.series}::int
        and d.attempts = ${claim.attempt}::int and d.status = 'pending' and d.locked_until > now()
      returning d.id, d.webhook_id, d.locked_until, webhook.unchanged
    )
    update ${webhooks} w set lanes = case when renewed.unchanged
        then w.lanes || jsonb_build_object(renewed.id::text, renewed.locked_until)
        else w.lanes - renewed.id::text end,
      -- The probe's claim reopened the circuit (its cool-down from then); released, it was never sent.
      circuit_opened_at = case when not renewed.unchanged and ${claim.probe}
        then least(w.circuit_opened_at, now() - ${coolDownSeconds}::int * interval '1 second')
        else w.circuit_opened_at end,
      revision = w.revision + case when not renewed.unchanged and ${claim.probe} then 1 else 0 end
    from renewed where w.id = renewed.webhook_id
    returning renewed.unchanged`),
  );
  const row = result.rows[0];
  return row === undefined ? 'lapsed' : row.unchanged ? 'renewed' : 'released';
}
