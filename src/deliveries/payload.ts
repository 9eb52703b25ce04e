import type { WebhookEvent } from '../events/event-types.ts';

export interface EventForDelivery {
  type: WebhookEvent;
  /** ISO 8601, as published. */
  occurredAt: string;
  companyId: string | null;
  /** The event's data, a JSON object, serialised once when it was published. */
  data: string;
}

/**
 * The request body every attempt of a delivery sends: `{event, timestamp, deliveryId, companyId, data}`.
 * Built the same way each time from the stored event, so retries carry the very same bytes; the data is
 * spliced in as stored, not parsed and re-serialised.
 */
export function deliveryBody(deliveryId: string, event: EventForDelivery): string {
  return `{"event":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.occurredAt)},"deliveryId":${JSON.stringify(
    deliveryId,
  )},"companyId":${JSON.stringify(event.companyId)},"data":${event.data}}`;
}
