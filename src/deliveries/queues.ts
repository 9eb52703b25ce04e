// The three delivery queues and who travels on which. A webhook's deliveries go through the main queue
// unless its own behaviour would hold the others up there: a rate-limited webhook's wait for their
// slots in a lane (the paced queue), a webhook that times out or answers slowly (the slow lane). Each
// queue has its own consumers, so what waits in one never holds a batch of another (README "Sharing
// the service fairly").
import { type SQL, sql } from 'drizzle-orm';
import type { DeliveryMessage } from './messages.ts';

export type DeliveryQueue = 'main' | 'slow' | 'paced';

/** wrangler.toml's queue names (index.ts switches on them). */
export const DELIVERY_QUEUE_NAMES: Record<string, DeliveryQueue> = {
  'webhook-deliveries': 'main',
  'webhook-deliveries-slow': 'slow',
  'webhook-deliveries-paced': 'paced',
};

/** The producer binding of a delivery queue. */
export function deliveryQueue(env: Env, queue: DeliveryQueue): Queue<DeliveryMessage> {
  const binding =
    queue === 'paced'
      ? env.WEBHOOK_DELIVERIES_PACED
      : queue === 'slow'
        ? env.WEBHOOK_DELIVERIES_SLOW
        : env.WEBHOOK_DELIVERIES;
  return binding as Queue<DeliveryMessage>;
}

/**
 * A webhook that has never answered a delivery with a 2xx (test pings do not count): the fan-out puts its
 * deliveries on the slow lane until it has (a slow 2xx keeps it there for SLOW_LANE_FOR). So a new webhook
 * pointed at an endpoint that hangs (one created for the purpose, say) never holds a main-queue batch
 * with its events: only a webhook that has shown it answers can, and then until its first timeout moves
 * it out. Not applied by the claim (a message already on the main queue is sent there): redeliver,
 * recover and the minute sweep put theirs on the main queue, and each is limited.
 */
export const UNPROVEN = sql`w.last_success_at is null`;

/** How long a slow attempt keeps its webhook in the slow lane. */
export const SLOW_LANE_FOR = sql`interval '10 minutes'`;

/**
 * The queue a webhook's deliveries belong on (`w`: its row): paced when it has a rate limit, slow while
 * it is in the slow lane (`slowNow`: slow_until, and what the caller knows besides), main otherwise.
 */
export function homeQueue(slowNow: SQL = sql`false`): SQL {
  return sql`(case when w.rate_limit_per_second is not null then 'paced'
    when coalesce(w.slow_until > now(), false) or ${slowNow} then 'slow' else 'main' end)`;
}
