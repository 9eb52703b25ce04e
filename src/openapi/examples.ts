// Realistic examples for the OpenAPI document, by operationId: the request body and the `data` of each
// success response. Only the document builder imports this file, so none of it reaches the Worker's
// bundle. The builder refuses an operation without its examples, test/openapi.test.ts validates each one
// against its schema, and the create example, sent as is, creates a webhook (the /docs page sends it).
import type { WebhookEvent } from '../events/event-types.ts';
import type { ErrorCode, ErrorDetailsOf } from '../http/errors.ts';

export interface OperationExamples {
  /** The request body, for operations that take one. */
  request?: unknown;
  /** The envelope's `data` of each success response that has a body, by status. */
  responses: Record<number, unknown>;
}

const WEBHOOK_ID = 'aa5f0074-b0b9-48ef-bfc3-f44cf266b1ec';
const API_KEY_ID = 'c6f4318a-bec2-4c91-b868-ab98399f0c81';
const COMPANY_ID = 'ac573d40-5a77-4f9f-9426-3f1c293b42cd';
const ACCOUNT_ID = '95259cc5-172a-4cd2-8adc-9f30b393545b';
const DELIVERY_ID = 'a60e0f76-7746-485d-97dd-7de02d2bbfc3';

const webhook = {
  id: WEBHOOK_ID,
  url: 'https://ats.example.com/hooks/instaview',
  events: ['INTERVIEW_COMPLETED', 'ANALYSIS_FAILED'],
  name: 'ATS sync',
  description: 'Interview results into the ATS',
  companyId: null,
  headers: [{ name: 'X-Partner-Token', isMasked: true }],
  isActive: true,
  apiKeyId: API_KEY_ID,
  maxRetries: 3,
  timeoutMs: 30000,
  rateLimitPerSecond: null,
  consecutiveFailures: 0,
  circuitOpenedAt: null,
  disabledReason: null,
  disabledAt: null,
  health: { status: 'healthy', failingSince: null, lastSuccessAt: null },
  createdAt: '2026-11-26T17:49:50.569Z',
  updatedAt: '2026-11-26T17:49:50.569Z',
};

const failedDelivery = {
  id: DELIVERY_ID,
  eventId: 'interview-4711-completed',
  event: 'INTERVIEW_COMPLETED',
  status: 'failed',
  attempts: 4,
  lastAttemptAt: '2026-11-27T10:31:40.118Z',
  nextAttemptAt: null,
  lastHttpStatus: 500,
  lastError: 'HTTP 500 from the endpoint',
  isTest: false,
  createdAt: '2026-11-27T09:56:26.412Z',
};

/** A state-change event's data (deliveries/store/state-changes.ts): the webhook, why, and a sentence. */
function stateChange(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    webhookId: WEBHOOK_ID,
    url: 'https://ats.example.com/hooks/instaview',
    name: 'ATS sync',
    failingSince: '2026-11-22T09:56:26.381Z',
    lastAttempt: { httpStatus: 500, error: 'HTTP 500 from the endpoint' },
    ...fields,
  };
}

/** What an event of each type carries in `data`, as InstaView's systems publish it (illustrative). */
export const EVENT_DATA_EXAMPLES: Record<WebhookEvent, Record<string, unknown>> = {
  ANALYSIS_COMPLETED: { analysisId: 'an-5521', interviewId: 'i-4711', score: 0.82 },
  ANALYSIS_FAILED: { analysisId: 'an-5522', interviewId: 'i-4712', reason: 'The recording has no audio' },
  PING: { message: 'A test delivery from InstaView' },
  INTERVIEW_COMPLETED: { interviewId: 'i-4711', candidateId: 'c-9031', score: 0.82 },
  INTERVIEW_FAILED: { interviewId: 'i-4713', candidateId: 'c-9032', reason: 'The candidate left before the end' },
  INTERVIEW_STARTED: { interviewId: 'i-4711', candidateId: 'c-9031' },
  SOURCING_COMPLETED: { sourcingId: 's-301', candidatesFound: 24 },
  SOURCING_FAILED: { sourcingId: 's-302', reason: 'The job description is empty' },
  ENRICH_COMPLETED: { enrichId: 'e-77', candidateId: 'c-9031' },
  ENRICH_FAILED: { enrichId: 'e-78', candidateId: 'c-9033', reason: 'No public profile found' },
  WEBHOOK_CIRCUIT_OPENED: stateChange({
    reason: null,
    count: null,
    summary:
      'Webhook "ATS sync" (ats.example.com) failed 10 attempts in a row (last: HTTP 500 ' +
      'from the endpoint); its deliveries are paused and skipped until a probe succeeds.',
  }),
  WEBHOOK_RECOVERED: stateChange({
    reason: null,
    count: null,
    lastAttempt: { httpStatus: 200, error: null },
    summary: 'Webhook "ATS sync" (ats.example.com) delivered again; its circuit is closed.',
  }),
  WEBHOOK_DISABLED: stateChange({
    reason: 'FAILING',
    count: null,
    summary:
      'Webhook "ATS sync" (ats.example.com) was disabled: no attempt succeeded since ' +
      '2026-11-22T09:56:26.381Z. Fix the endpoint, set isActive to true, then recover what was missed.',
  }),
  DELIVERY_EXHAUSTED: stateChange({
    reason: null,
    count: 3,
    summary:
      'Webhook "ATS sync" (ats.example.com): 3 deliveries failed their last retry ' +
      '(last: HTTP 500 from the endpoint).',
  }),
};

export const OPERATION_EXAMPLES: Record<string, OperationExamples> = {
  createWebhook: {
    request: {
      url: 'https://ats.example.com/hooks/instaview',
      events: ['INTERVIEW_COMPLETED', 'ANALYSIS_FAILED'],
      name: 'ATS sync',
      description: 'Interview results into the ATS',
      headers: [{ name: 'X-Partner-Token', value: 'partner-token-123' }],
    },
    responses: {
      201: {
        id: WEBHOOK_ID,
        signingSecret: 'ab53b2f4d04f94f2bf43a01b8326ee51914cca4839570c1495fa31236be6559f',
        ...Object.fromEntries(Object.entries(webhook).filter(([key]) => key !== 'id')),
      },
    },
  },
  listWebhooks: { responses: { 200: { data: [webhook], total: 1, nextCursor: null } } },
  getWebhook: { responses: { 200: webhook } },
  updateWebhook: {
    request: { events: ['INTERVIEW_COMPLETED'], description: 'Synced nightly' },
    responses: {
      200: {
        ...webhook,
        events: ['INTERVIEW_COMPLETED'],
        description: 'Synced nightly',
        updatedAt: '2026-11-26T18:02:11.907Z',
      },
    },
  },
  deleteWebhook: { responses: {} },
  resetWebhookCircuit: { responses: { 200: webhook } },
  createPortalSession: {
    request: { companyId: 'ac573d40-5a77-4f9f-9426-3f1c293b42cd', readOnly: false, expiresInSeconds: 900 },
    responses: {
      201: {
        url: 'https://webhooks.instaview.example/portal#token=ps_v1.k1.3q2-7wEAAAB4Vg1x.2xk5tQ8yVNmOd0jQ6nS4b1Zf0aXr2c',
        expiresAt: '2026-11-26T18:17:02.311Z',
      },
    },
  },
  getWebhookStats: {
    responses: {
      200: {
        window: '1h',
        from: '2026-11-27T09:05:00.000Z',
        to: '2026-11-27T10:02:13.512Z',
        deliveries: { succeeded: 412, failed: 3, pending: 2, skipped: 0 },
        attempts: 431,
        successRate: 0.956,
        latencyMs: { p50: 87, p95: 412 },
        lastSuccessAt: '2026-11-27T10:02:01.004Z',
        lastFailureAt: '2026-11-27T09:48:40.118Z',
        failingSince: null,
        circuit: { state: 'closed', nextProbeAt: null },
        series: Array.from({ length: 12 }, (_, index) => ({
          start: new Date(Date.parse('2026-11-27T09:05:00.000Z') + index * 300_000).toISOString(),
          attempts: index === 8 ? 47 : 35,
          succeeded: index === 8 ? 28 : 35,
          failed: index === 8 ? 19 : 0,
          p50: 85 + index,
          p95: index === 8 ? 1800 : 240,
        })),
      },
    },
  },
  rotateWebhookSecret: {
    request: { gracePeriodSeconds: 3600 },
    responses: {
      200: {
        signingSecret: '5b0e3c1fd2a84e6b9c07f1a2d3e4b5c6a7980b1c2d3e4f5a6b7c8d9e0f1a2b3c',
        previousSecretExpiresAt: '2026-11-26T18:51:02.311Z',
      },
    },
  },
  testWebhook: {
    responses: {
      200: {
        success: true,
        deliveryId: '0fe73258-3b8d-4ac5-b279-6ac7906e11ef',
        httpStatus: 200,
        durationMs: 12,
        message: 'Delivered: the endpoint answered HTTP 200',
      },
    },
  },
  listDeliveries: {
    responses: {
      200: {
        data: [failedDelivery],
        nextCursor: null,
      },
    },
  },
  getDelivery: {
    responses: {
      200: {
        ...failedDelivery,
        payload: {
          event: 'INTERVIEW_COMPLETED',
          timestamp: '2026-11-27T09:56:26.381Z',
          deliveryId: DELIVERY_ID,
          companyId: COMPANY_ID,
          data: EVENT_DATA_EXAMPLES.INTERVIEW_COMPLETED,
        },
        attemptCount: 2,
        attemptsBefore: null,
        attemptLog: [
          {
            number: 1,
            startedAt: '2026-11-27T09:56:26.430Z',
            httpStatus: 500,
            durationMs: 41,
            error: 'HTTP 500 from the endpoint',
            responseExcerpt: 'internal error',
          },
          {
            number: 2,
            startedAt: '2026-11-27T09:56:31.502Z',
            httpStatus: null,
            durationMs: 30001,
            error: 'timed out after 30000 ms',
            responseExcerpt: null,
          },
        ],
      },
    },
  },
  redeliver: { responses: { 202: { deliveryId: DELIVERY_ID, status: 'pending' } } },
  recoverDeliveries: {
    request: { since: '2026-11-27T09:00:00.000Z', statuses: ['failed', 'skipped'] },
    responses: { 202: { count: 3, nextCursor: null } },
  },
  publishEvent: {
    request: {
      id: 'interview-4711-completed',
      type: 'INTERVIEW_COMPLETED',
      accountId: ACCOUNT_ID,
      companyId: COMPANY_ID,
      occurredAt: '2026-11-27T09:56:26.381Z',
      data: EVENT_DATA_EXAMPLES.INTERVIEW_COMPLETED,
    },
    responses: { 202: { eventId: 'interview-4711-completed' } },
  },
};

/** The envelope every example response is sent in. */
export const EXAMPLE_TIMESTAMP = '2026-11-27T09:56:26.599Z';

/** Each error code's example: a message as the service writes it, and details of the code's own type. */
export const ERROR_EXAMPLES: { [C in ErrorCode]: { message: string; details: ErrorDetailsOf<C> } } = {
  VALIDATION_ERROR: {
    message: 'Request body is invalid (2 issues)',
    details: {
      issues: [
        { path: 'url', message: 'Host 10.0.0.7 is a private network address; webhooks must reach a public host' },
        { path: 'events', message: 'Must contain at least one event type' },
      ],
    },
  },
  INVALID_JSON: { message: 'Request body is not valid JSON', details: {} },
  UNAUTHORIZED: { message: 'Missing API key; send "Authorization: Bearer <API key>"', details: {} },
  INSUFFICIENT_PERMISSIONS: {
    message: 'API key lacks the write:webhooks scope',
    details: { requiredScope: 'write:webhooks' },
  },
  API_KEY_REQUIRED: {
    message: 'A portal session cannot open portal sessions; use an API key',
    details: {},
  },
  RESOURCE_ACCESS_DENIED: {
    message: 'This API key cannot access the given company',
    details: { companyId: 'ac573d40-5a77-4f9f-9426-3f1c293b42cd' },
  },
  NOT_FOUND: { message: 'No such endpoint; did you mean /webhooks?', details: { didYouMean: '/webhooks' } },
  RESOURCE_NOT_FOUND: {
    message: 'Webhook configuration not found',
    details: { resourceType: 'WebhookConfig', resourceId: 'aa5f0074-b0b9-48ef-bfc3-f44cf266b1ec' },
  },
  METHOD_NOT_ALLOWED: { message: 'Method not allowed; use GET, POST', details: { allowedMethods: ['GET', 'POST'] } },
  CONFLICT: { message: 'The webhook conflicts with one created at the same moment; retry', details: {} },
  PRECONDITION_FAILED: {
    message: 'The webhook has changed since the ETag in If-Match; nothing was changed',
    details: { currentETag: '"3"' },
  },
  PAYLOAD_TOO_LARGE: { message: 'Request body must be at most 524288 bytes', details: { maxBytes: 524288 } },
  UNSUPPORTED_MEDIA_TYPE: {
    message: 'Content-Type must be application/json',
    details: { supportedMediaTypes: ['application/json'] },
  },
  IDEMPOTENCY_KEY_REUSED: {
    message: 'This Idempotency-Key was already used with a different request body',
    details: { idempotencyKey: 'create-ats-sync-2026-11-27' },
  },
  WEBHOOK_LIMIT_REACHED: { message: 'This account has reached its limit of 100 webhooks', details: { limit: 100 } },
  PING_NOT_SUBSCRIBED: {
    message: 'The webhook is not subscribed to PING; add it to events to test it',
    details: { events: ['INTERVIEW_COMPLETED'] },
  },
  CIRCUIT_OPEN: {
    message:
      'The webhook’s circuit is open since 2026-11-27T09:56:26.381Z; recover would only skip its deliveries again. ' +
      'Fix the endpoint, then POST /webhooks/{id}/reset-circuit and recover',
    details: { openedAt: '2026-11-27T09:56:26.381Z', nextProbeAt: '2026-11-27T10:56:26.381Z' },
  },
  DELIVERY_LOOP_REFUSED: {
    message:
      'This request carries webhook-id and webhook-signature: it is a webhook delivery from this service, which is ' +
      'never acted on; point the webhook at your own endpoint',
    details: {},
  },
  RATE_LIMITED: {
    message: 'Too many webhook creations with this API key; retry in 60 s',
    details: { retryAfter: 60, limit: 60, periodSeconds: 60 },
  },
  INTERNAL_ERROR: {
    message: 'An internal error occurred; quote the X-Request-Id header if you contact support',
    details: {},
  },
  SERVICE_UNAVAILABLE: { message: 'The service is temporarily unavailable; retry shortly', details: { retryAfter: 5 } },
};
