import * as z from 'zod/mini';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../events/event-types.ts';

const uuid = z.string().check(z.meta({ format: 'uuid' }));

/** What `deliveryBody` writes: the body a receiver gets, and the delivery log's `payload`. */
export const deliveryPayload = z
  .object({
    event: z.enum(WEBHOOK_EVENTS),
    timestamp: z.string().check(z.meta({ format: 'date-time', description: 'When the event occurred' })),
    deliveryId: uuid.check(z.meta({ description: 'The webhook-id header: the same on every retry' })),
    companyId: z.nullable(uuid),
    data: z.record(z.string(), z.unknown()).check(z.meta({ description: 'The event as InstaView published it' })),
  })
  .check(z.meta({ id: 'DeliveryPayload' }));

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
