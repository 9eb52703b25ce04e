// The OpenAPI 3.1 `webhooks` section: what a receiver gets for each event type (the body, the Standard
// Webhooks headers) and what its answer means to the service (src/deliveries/send.ts, deliver.ts).
import type { WebhookEvent } from '../events/event-types.ts';
import { STATE_CHANGE_EVENTS, WEBHOOK_EVENTS } from '../events/event-types.ts';
import { EVENT_DATA_EXAMPLES } from './examples.ts';

type JsonSchema = Record<string, unknown>;

export const RECEIVING_TAG = {
  name: 'Receiving events',
  description:
    'What your endpoint receives: a POST per delivery, signed to the Standard Webhooks spec, retried until it ' +
    'answers 2xx. Verify the signature with any Standard Webhooks or Svix library and the signingSecret as it is.',
};

const WHAT_HAPPENED: Record<WebhookEvent, string> = {
  ANALYSIS_COMPLETED: 'An analysis of an interview is ready',
  ANALYSIS_FAILED: 'An analysis of an interview could not be made',
  PING: 'A test delivery, sent by POST /webhooks/{id}/test',
  INTERVIEW_COMPLETED: 'A candidate completed an interview',
  INTERVIEW_FAILED: 'An interview could not be completed',
  INTERVIEW_STARTED: 'A candidate started an interview',
  SOURCING_COMPLETED: 'A sourcing run found its candidates',
  SOURCING_FAILED: 'A sourcing run failed',
  ENRICH_COMPLETED: 'A candidate profile was enriched',
  ENRICH_FAILED: 'A candidate profile could not be enriched',
  WEBHOOK_CIRCUIT_OPENED: 'Another webhook of the account failed enough times in a row that its circuit opened',
  WEBHOOK_RECOVERED: 'Another webhook of the account whose circuit was open delivered again',
  WEBHOOK_DISABLED: 'Another webhook of the account was disabled (data.reason: FAILING, GONE or MANUAL)',
  DELIVERY_EXHAUSTED:
    'Deliveries of another webhook of the account failed their last retry (at most one such event an hour per ' +
    'webhook; data.count says how many since the last)',
};

/** Where a state-change event comes from: the service, about a webhook; never sent to that webhook. */
const STATE_CHANGE_NOTE =
  ' Published by the service itself when the webhook `data.webhookId` changes state, once per change; never ' +
  'delivered to that webhook. `data`: webhookId, url, name, reason (WEBHOOK_DISABLED), failingSince (when the ' +
  'failure streak began; for WEBHOOK_RECOVERED, the one that just ended), lastAttempt {httpStatus, error}, count ' +
  '(DELIVERY_EXHAUSTED: deliveries that failed their last retry since the last such event) and a summary a person ' +
  'can read.';

const DELIVERY_ID = 'a60e0f76-7746-485d-97dd-7de02d2bbfc3';

/** The headers every delivery carries, as the document's components.parameters. */
const HEADER_LIST: JsonSchema[] = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The delivery id: the same on every retry and redelivery. Deduplicate on it.',
    schema: { type: 'string', format: 'uuid' },
    example: DELIVERY_ID,
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description: 'Unix seconds when this attempt was signed. Refuse a delivery more than 5 minutes off your clock.',
    schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
    example: '1795773386',
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description:
      '`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the signingSecret ' +
      'base64-decoded. Two of them, space-separated, while a rotated secret’s grace period lasts: either one matching ' +
      'is enough.',
    schema: { type: 'string', pattern: '^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$' },
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
  {
    name: 'User-Agent',
    in: 'header',
    required: true,
    description: 'Always this value. The webhook’s own headers are sent too.',
    schema: { type: 'string', const: 'InstaView-Webhooks/1.0' },
    example: 'InstaView-Webhooks/1.0',
  },
];

const componentName = (header: string) =>
  header
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join('');

export const DELIVERY_HEADERS: Record<string, JsonSchema> = Object.fromEntries(
  HEADER_LIST.map((header) => [componentName(String(header.name)), header]),
);

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds or an HTTP date: the next attempt waits at least this long (at most a day)',
    required: false,
    schema: { type: 'string' },
    example: '120',
  },
};

const ANSWERS: JsonSchema = {
  '2XX': {
    description:
      'Received: the delivery succeeded. Answer within the webhook’s timeoutMs (30 s) once you have stored it, and ' +
      'do the work afterwards. The first 1 KiB of your answer is kept in the delivery log.',
  },
  '410': {
    description:
      'Gone: no more attempts, the webhook is deactivated (isActive: false) and its pending deliveries are cancelled.',
  },
  '429': {
    description: 'A failed attempt, retried; a Retry-After header can lengthen the wait.',
    headers: RETRY_AFTER,
  },
  '503': {
    description: 'A failed attempt, retried; a Retry-After header can lengthen the wait.',
    headers: RETRY_AFTER,
  },
  default: {
    description:
      'Any other answer, a redirect (never followed), a timeout or a refused connection: a failed attempt, retried ' +
      'after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (the first maxRetries of them). Each failed attempt counts ' +
      'toward the webhook’s circuit breaker (10 in a row open it for an hour).',
  },
};

const pascal = (event: string) =>
  event
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** One entry per event type: a POST of the delivery body to the webhook's url. */
export function webhooksSection(): Record<string, JsonSchema> {
  return Object.fromEntries(
    WEBHOOK_EVENTS.map((event) => [
      event,
      {
        post: {
          operationId: `receive${pascal(event)}`,
          summary: WHAT_HAPPENED[event],
          description:
            `Sent to every active webhook of the account subscribed to \`${event}\` that reaches the event’s company. ` +
            'At least once and in no guaranteed order: deduplicate on webhook-id, order by the body’s timestamp.' +
            ((STATE_CHANGE_EVENTS as readonly string[]).includes(event) ? STATE_CHANGE_NOTE : ''),
          tags: [RECEIVING_TAG.name],
          // Signed, not authenticated with a scheme: the receiver checks webhook-signature.
          security: [],
          parameters: Object.keys(DELIVERY_HEADERS).map((name) => ({ $ref: `#/components/parameters/${name}` })),
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  allOf: [
                    { $ref: '#/components/schemas/DeliveryPayload' },
                    { type: 'object', properties: { event: { type: 'string', const: event } } },
                  ],
                },
                example: {
                  event,
                  timestamp: '2026-11-27T09:56:26.381Z',
                  deliveryId: DELIVERY_ID,
                  companyId: event === 'PING' ? null : 'ac573d40-5a77-4f9f-9426-3f1c293b42cd',
                  data: EVENT_DATA_EXAMPLES[event],
                },
              },
            },
          },
          responses: ANSWERS,
        },
      },
    ]),
  );
}
