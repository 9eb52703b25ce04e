import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { deliveries, events } from '../../db/schema.ts';
import { iso } from './shared.ts';
import type { StateEvent } from './state-changes.ts';

/**
 * For the fan-out statement (events.ts), after its `new_event` insert: `the_event`, the event to fan out.
 * A product event is the one just inserted; a state-change event was inserted by the statement that
 * decided it (state-changes.ts), so the insert finds it there and this takes the stored row instead,
 * once: not when its deliveries exist already (a retried fan-out queues those it had not marked enqueued).
 */
export function storedStateEvent(event: { accountId: string; id: string }): SQL {
  return sql`stored_state_event as (
    select account_id, id, company_id, type, subject_webhook_id from ${events}
    where account_id = ${event.accountId}::uuid and id = ${event.id} and subject_webhook_id is not null
      and not exists (select 1 from ${deliveries} where account_id = ${event.accountId}::uuid and event_id = ${event.id})
  ), the_event as (
    select * from new_event union all select * from stored_state_event
  )`;
}

/**
 * State-change events whose message never reached the fan-out (the send after their statement failed):
 * those between 70 and 10 minutes old with no delivery yet, for the hourly sweep to queue again. The
 * window is as wide as the sweep's period, so each is looked at once; one that no webhook receives is
 * queued once more (its fan-out finds no one again, and the operations endpoint deduplicates on its id).
 */
export async function unsentStateEvents(db: Database, limit: number): Promise<StateEvent[]> {
  const result = await db.execute<StateEvent & Record<string, unknown>>(sql`
    select e.account_id as "accountId", e.id, e.company_id as "companyId", e.type, ${iso(sql`e.occurred_at`)} as "occurredAt",
      e.data
    from ${events} e
    where e.subject_webhook_id is not null
      and e.created_at >= now() - interval '70 minutes' and e.created_at < now() - interval '10 minutes'
      and not exists (select 1 from ${deliveries} d where d.account_id = e.account_id and d.event_id = e.id)
    order by e.created_at limit ${limit}::int`);
  return result.rows;
}
