import { type SQL, sql } from 'drizzle-orm';
import { deliveries, events } from '../../db/schema.ts';

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
