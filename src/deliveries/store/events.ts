// Events in Postgres: fan an event out to its deliveries in one statement, note which are on the queue,
// find those that lost their message, and purge what is past retention.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { deliveries, events, webhooks } from '../../db/schema.ts';
import type { WebhookEvent } from '../../events/event-types.ts';
import { storedStateEvent } from './stored-state-event.ts';

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
 * the key later does not silence it). An event without a company reaches only webhooks without one. A
 * state-change event (stored already: stored-state-event.ts) never reaches the webhook it is about.
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
      returning account_id, id, company_id, type, subject_webhook_id
    ), ${storedStateEvent(event)}, targets as (
      select w.id as webhook_id from ${webhooks} w join the_event e on w.account_id = e.account_id
      where w.is_active and e.type = any(w.events) and w.id is distinct from e.subject_webhook_id and (
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
