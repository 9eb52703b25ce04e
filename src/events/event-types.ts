/** What InstaView's systems publish (POST /events, the webhook-events queue). */
export const PRODUCT_EVENTS = [
  'ANALYSIS_COMPLETED',
  'ANALYSIS_FAILED',
  'PING',
  'INTERVIEW_COMPLETED',
  'INTERVIEW_FAILED',
  'INTERVIEW_STARTED',
  'SOURCING_COMPLETED',
  'SOURCING_FAILED',
  'ENRICH_COMPLETED',
  'ENRICH_FAILED',
] as const;

/**
 * What the service itself publishes about a webhook's health (src/deliveries/store/state-changes.ts):
 * subscribable like the product events, never delivered to the webhook they are about.
 */
export const STATE_CHANGE_EVENTS = [
  'WEBHOOK_CIRCUIT_OPENED',
  'WEBHOOK_RECOVERED',
  'WEBHOOK_DISABLED',
  'DELIVERY_EXHAUSTED',
] as const;

export const WEBHOOK_EVENTS = [...PRODUCT_EVENTS, ...STATE_CHANGE_EVENTS] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type StateChangeEvent = (typeof STATE_CHANGE_EVENTS)[number];
