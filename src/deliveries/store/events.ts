// Events in Postgres: fan an event out to its deliveries in one statement, note which are on the queue,
// find those that lost their message, and purge what is past retention.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { deliveries, events, webhooks } from '../../db/schema.ts';
import type { WebhookEvent } from '../../events/event-types.ts';
import { type DeliveryQueue, homeQueue, UNPROVEN } from '../queues.ts';

export interface PublishedEvent {
  id: string;
  accountId: string;
  companyId: string | null;
  type: WebhookEvent;
  occurredAt: string;
  data: string;
}

/** An event as stored: the key a message for a stored event carries. */
export interface StoredEventKey {
  accountId: string;
  id: string;
}

/**
 * The event's row, if its account exists and its company (when it names one) is the account's: an
 * event for anyone else is stored nowhere and so reaches nobody.
 */
function eventRow(event: PublishedEvent, fannedOutAt: SQL) {
  return sql`
      insert into ${events} (account_id, id, company_id, type, occurred_at, data, fanned_out_at)
      select a.id, ${event.id}, ${event.companyId}::uuid, ${event.type}::webhook_event,
        ${event.occurredAt}::timestamptz, ${event.data}, ${fannedOutAt}
      from accounts a
      where a.id = ${event.accountId}::uuid
        and (${event.companyId}::uuid is null
          or exists (select 1 from companies c where c.id = ${event.companyId}::uuid and c.account_id = a.id))
      on conflict (account_id, id) do nothing`;
}

/**
 * Stores an event without fanning it out, the state a state-change event is stored in until its
 * message is consumed (store/state-changes.ts), and what the minute sweep takes when that message is
 * lost (test/sweep.test.ts). False when nothing new was stored: its id was seen for the account
 * already, or the account (or company) is not one the event can reach.
 */
export async function storeEvent(db: Database, event: PublishedEvent): Promise<boolean> {
  const result = await db.execute(sql`${eventRow(event, sql`null`)} returning 1`);
  return result.rows.length > 0;
}

/**
 * Fans one event out in one statement, whatever the number of webhooks: stores the event unless its id
 * was seen for the account already (then nothing new happens), matches the webhooks that receive it,
 * and creates their deliveries. Returns the deliveries still to put on the queue: the new ones, and,
 * when a fan-out is retried, those it created before but never marked enqueued. The path of an event a
 * Worker sent to the queue itself (producer binding): it is in Postgres from its fan-out on.
 *
 * Who receives it: an active webhook of the account subscribed to the type, whose company is the
 * event's, or which has no company and whose creating key reaches the event's company now (revoking
 * the key later does not silence it). An event without a company reaches only webhooks without one
 * whose creating key reaches every company: a key limited to some companies never sees one otherwise,
 * so its webhooks do not either (least privilege; README "Who gets an event").
 * A state-change event (store/state-changes.ts) never reaches the webhook it is about (subject_webhook_id).
 */
export function fanOut(db: Database, event: PublishedEvent): Promise<FannedOut[]> {
  return fanOutFrom(
    db,
    sql`${eventRow(event, sql`now()`)} returning account_id, id, company_id, type, subject_webhook_id`,
    event,
  );
}

/**
 * Fans out an event stored but not fanned out yet (a state change, storeEvent), as fanOut does: the statement that marks it
 * fanned out creates its deliveries, so a second fan-out of it (a redelivered message, the sweep)
 * creates nothing new and returns only what was never marked enqueued.
 */
export function fanOutStored(db: Database, key: StoredEventKey): Promise<FannedOut[]> {
  return fanOutFrom(
    db,
    sql`
      update ${events} set fanned_out_at = now()
      where account_id = ${key.accountId}::uuid and id = ${key.id} and fanned_out_at is null
      returning account_id, id, company_id, type, subject_webhook_id`,
    key,
  );
}

/** A delivery to put on the queue: its message, and the queue its webhook's deliveries belong on now. */
export type FannedOut = {
  id: string;
  series: number;
  queue: DeliveryQueue;
};

async function fanOutFrom(db: Database, newEvent: SQL, key: StoredEventKey): Promise<FannedOut[]> {
  const result = await db.execute<FannedOut>(sql`
    with new_event as (${newEvent}
    ), targets as (
      select w.id as webhook_id, ${homeQueue(UNPROVEN)} as queue from ${webhooks} w join new_event e on w.account_id = e.account_id
      where w.is_active and e.type = any(w.events) and w.id is distinct from e.subject_webhook_id and (
        w.company_id = e.company_id
        or (w.company_id is null and exists (
          select 1 from api_keys k where k.id = w.api_key_id and (k.all_companies
            or (e.company_id is not null
              and exists (select 1 from api_key_companies g where g.api_key_id = k.id and g.company_id = e.company_id))))))
      -- A webhook deleted while this runs is left out, not a foreign-key error (POST /events would
      -- answer 500 with nothing stored): the lock waits for the delete, then skips the row.
      for key share of w
    ), inserted as (
      insert into ${deliveries} (id, account_id, webhook_id, event_id, event_type)
      select gen_random_uuid(), e.account_id, t.webhook_id, e.id, e.type
      from targets t cross join new_event e
      returning id, series, webhook_id
    )
    select i.id::text as id, i.series, t.queue from inserted i join targets t on t.webhook_id = i.webhook_id
    union all
    select d.id::text, d.series, ${homeQueue(UNPROVEN)} from ${deliveries} d join ${webhooks} w on w.id = d.webhook_id
    where d.account_id = ${key.accountId}::uuid and d.event_id = ${key.id} and d.status = 'pending'
      and d.enqueued_at is null`);
  return result.rows;
}

/**
 * Notes that these deliveries' messages are on the queue: one statement per batch of at most 100. It
 * locks them in id order, as a group claim does (claims.ts): in any other order the two could each
 * hold a row the other waits for (a deadlock the noisy-neighbour bench met).
 */
export async function markEnqueued(db: Database, ids: string[]): Promise<void> {
  await db.execute(sql`update ${deliveries} set enqueued_at = now() where id in (
    select id from ${deliveries} where id = any(${sql.param(ids)}::uuid[]) order by id for update)`);
}

/** Deliveries marked queued whose messages could not be sent after all: recover picks them up again. */
export async function markNotEnqueued(db: Database, ids: string[]): Promise<void> {
  await db.execute(sql`update ${deliveries} set enqueued_at = null where id = any(${sql.param(ids)}::uuid[])`);
}

/**
 * When a pending delivery was last due to be acted on: made, queued (or sent back waiting for a lane, or
 * diverted to the slow lane: the claim notes it in enqueued_at), retried, its rate-limit slot, or (in
 * flight) its lease's end. Some message should have reached the consumer by then; the index
 * deliveries_pending_due_by_idx is on this very expression.
 */
const DUE = sql`greatest(created_at, enqueued_at, next_attempt_at, locked_until, rate_slot_at)`;

export interface Stranded {
  /** Accepted events never fanned out: their message is to go back on the webhook-events queue. */
  events: StoredEventKey[];
  /** Pending deliveries that lost their message: back on the webhook-deliveries queue. */
  deliveries: { id: string; series: number }[];
}

/**
 * One statement, every minute: takes what lost its queue message, at most `limit` of each kind, and
 * marks it queued again (its lease for the next `afterSeconds`): events accepted (POST /events) but
 * never fanned out, and pending deliveries due (DUE) more than `afterSeconds` ago. A message that was
 * only late makes a duplicate message, never a duplicate send: the fan-out and the claim decide under
 * row locks. With nothing to take it reads two index ranges and finds them empty.
 */
export async function takeStranded(db: Database, afterSeconds: number, limit: number): Promise<Stranded> {
  const cutoff = sql`now() - ${afterSeconds}::int * interval '1 second'`;
  const result = await db.execute<{ account_id: string | null; id: string; series: number | null }>(sql`
    with stranded_events as (
      update ${events} set requeued_at = now()
      where (account_id, id) in (
        select account_id, id from ${events}
        where fanned_out_at is null and created_at < ${cutoff} and (requeued_at is null or requeued_at < ${cutoff})
        order by created_at limit ${limit}::int
        -- A row someone is changing is left for the next sweep: waiting for it could close a lock cycle.
        for update skip locked)
      returning account_id::text, id
    ), stranded_deliveries as (
      update ${deliveries} set enqueued_at = now()
      where id in (
        select id from ${deliveries}
        where status = 'pending' and ${DUE} < ${cutoff}
        order by ${DUE} limit ${limit}::int
        for update skip locked)
      returning id::text, series
    )
    select account_id, id, null::int as series from stranded_events
    union all
    select null, id, series from stranded_deliveries`);
  const stranded: Stranded = { events: [], deliveries: [] };
  for (const row of result.rows) {
    if (row.account_id !== null) stranded.events.push({ accountId: row.account_id, id: row.id });
    else stranded.deliveries.push({ id: row.id, series: row.series ?? 1 });
  }
  return stranded;
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
