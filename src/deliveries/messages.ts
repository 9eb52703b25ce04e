/** A message on the webhook-deliveries queue: which delivery, and which series of attempts it is for. */
export interface DeliveryMessage {
  deliveryId: string;
  series: number;
}

export function isDeliveryMessage(value: unknown): value is DeliveryMessage {
  const message = value as Partial<DeliveryMessage> | null;
  // Strict: a claim serves a group of messages, and one value Postgres refuses would fail all of them.
  return (
    typeof message?.deliveryId === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(message.deliveryId) &&
    Number.isInteger(message.series) &&
    (message.series ?? 0) >= 1 &&
    (message.series ?? 0) <= 2_147_483_647
  );
}

/** Queues take at most 100 messages per sendBatch. */
export const MAX_BATCH = 100;

/** Wait before retrying a message the service itself could not process (the database was down, say). */
export function backoffSeconds(attempts: number): number {
  return Math.min(300, 2 ** Math.min(attempts, 9));
}

/**
 * The longest one trip through the queue waits (msg.retry's delaySeconds): 12 hours, the lower of the
 * limits Cloudflare has documented. A longer wait takes several trips: the claim sends an early
 * message back for the rest (deliver.ts).
 */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

/** A wait as one trip through the queue can take it. */
export function queueDelay(seconds: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil(seconds)));
}
