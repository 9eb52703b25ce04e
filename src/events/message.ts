import type { WebhookEvent } from './event-types.ts';
import type { PublishedEventInput } from './schema.ts';

/** A message on the webhook-events queue: a published event, its id and time always filled in. */
export interface EventMessage {
  id: string;
  type: WebhookEvent;
  accountId: string;
  companyId: string | null;
  occurredAt: string;
  data: Record<string, unknown>;
}

/**
 * Completes a published event: the producer's id or `mintedId`, the time it occurred or `now`, ids in
 * lowercase, the time in one ISO form.
 */
export function toEventMessage(event: PublishedEventInput, mintedId: string, now: Date): EventMessage {
  return {
    id: event.id ?? mintedId,
    type: event.type,
    accountId: event.accountId.toLowerCase(),
    companyId: event.companyId?.toLowerCase() ?? null,
    occurredAt: new Date(event.occurredAt ?? now).toISOString(),
    data: event.data,
  };
}

/**
 * What POST /events (and the sweep) put on the webhook-events queue: the key of an event already in
 * Postgres. The consumer fans out the stored row, so the message needs nothing else.
 */
export interface StoredEventMessage {
  storedEventId: string;
  accountId: string;
}

export function isStoredEventMessage(value: unknown): value is StoredEventMessage {
  const message = value as Partial<StoredEventMessage> | null;
  return (
    typeof message?.storedEventId === 'string' &&
    typeof message.accountId === 'string' &&
    /^[0-9a-f-]{36}$/.test(message.accountId)
  );
}
