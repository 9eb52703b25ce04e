import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from 'zod/mini';

/** What every `details.issues` entry is: the offending field's path and what is wrong with it. */
const issues = z.object({
  issues: z.array(z.object({ path: z.string(), message: z.string() })).check(z.maxLength(51)),
});
const nothing = z.strictObject({});
const retryAfter = z.int().check(z.minimum(1), z.maximum(86_400));
const resource = (types: [string, ...string[]]) =>
  z.object({ resourceType: z.enum(types), resourceId: z.string().check(z.maxLength(80)) });

interface ErrorSpec {
  status: ContentfulStatusCode;
  /** What the code means, for the OpenAPI document and its readers. */
  description: string;
  /** The shape of `error.details` with this code: the document's schema, and the type `ApiError` takes. */
  details: z.ZodMiniType;
}

/**
 * Every error code the API answers with: its status, what it means and the shape of its details. The one
 * place a new code is added. The OpenAPI document builds each code's schema from its entry (so generated
 * clients read `details` typed), `ApiError` only accepts the details its code declares (tsc), and every
 * error response the test suite receives is validated against the document (test/support/openapi.ts).
 * The document's example of each code is in openapi/examples.ts, out of the Worker's bundle; tsc asks
 * for it there, typed by the details declared here.
 */
export const ERRORS = {
  VALIDATION_ERROR: {
    status: 400,
    description: 'A rule is broken; details.issues lists every offending field (at most 50, then a count)',
    details: issues,
  },
  INVALID_JSON: {
    status: 400,
    description: 'The body is not valid UTF-8, not JSON, or not a JSON object',
    details: nothing,
  },
  UNAUTHORIZED: {
    status: 401,
    description: 'Missing, malformed, unknown, revoked or expired API key; the message says how to get a valid one',
    details: nothing,
  },
  INSUFFICIENT_PERMISSIONS: {
    status: 403,
    description: 'The API key lacks the scope the route needs (details.requiredScope)',
    details: z.object({ requiredScope: z.enum(['write:webhooks', 'read:webhooks']) }),
  },
  API_KEY_REQUIRED: {
    status: 403,
    description: 'Only an API key may do this; a portal session cannot (it cannot open sessions or make keys)',
    details: nothing,
  },
  RESOURCE_ACCESS_DENIED: {
    status: 403,
    description: 'The key cannot reach this company (details.companyId) or webhook (details.resourceId)',
    details: z.union([z.object({ companyId: z.nullable(z.string()) }), resource(['WebhookConfig'])]),
  },
  NOT_FOUND: {
    status: 404,
    description: 'No such route; details.didYouMean names a route close to the path, when there is one',
    details: z.object({ didYouMean: z.optional(z.string()) }),
  },
  RESOURCE_NOT_FOUND: {
    status: 404,
    description: 'No such webhook (or delivery) for this account (details.resourceType, details.resourceId)',
    details: resource(['WebhookConfig', 'Delivery']),
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    description: 'The route exists with other methods (the Allow header, details.allowedMethods)',
    details: z.object({ allowedMethods: z.array(z.string()) }),
  },
  CONFLICT: {
    status: 409,
    description: 'A concurrent change collided in a way a retry resolves',
    details: nothing,
  },
  CIRCUIT_OPEN: {
    status: 409,
    description:
      'The webhook’s circuit is open: recover would only have its deliveries skipped again; nothing was queued. ' +
      'details.openedAt, and details.nextProbeAt (when one delivery may go through as a probe); reset-circuit first',
    details: z.object({
      openedAt: z.string().check(z.meta({ format: 'date-time' })),
      nextProbeAt: z.string().check(z.meta({ format: 'date-time' })),
    }),
  },
  PRECONDITION_FAILED: {
    status: 412,
    description: 'If-Match named a revision that is no longer current (details.currentETag); nothing changed',
    details: z.object({ currentETag: z.string() }),
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'The body is over the limit (details.maxBytes)',
    details: z.object({ maxBytes: z.int().check(z.minimum(1), z.maximum(1_048_576)) }),
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'Content-Type is not application/json',
    details: z.object({ supportedMediaTypes: z.array(z.literal('application/json')) }),
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    description: 'The Idempotency-Key was used with a different request in the last 24 hours',
    details: z.object({ idempotencyKey: z.string() }),
  },
  WEBHOOK_LIMIT_REACHED: {
    status: 422,
    description: 'The account holds its maximum number of webhooks (details.limit)',
    details: z.object({ limit: z.int().check(z.minimum(0), z.maximum(2_147_483_647)) }),
  },
  PING_NOT_SUBSCRIBED: {
    status: 422,
    description: 'The webhook is not subscribed to PING, so it cannot be tested (details.events: what it has)',
    details: z.object({ events: z.array(z.string()) }),
  },
  RATE_LIMITED: {
    status: 429,
    description: 'Too many requests; Retry-After and details.retryAfter say when to retry, in seconds',
    details: z.object({
      retryAfter,
      limit: z.int().check(z.minimum(1), z.maximum(1_000_000)),
      periodSeconds: z.int().check(z.minimum(1), z.maximum(86_400)),
    }),
  },
  DELIVERY_LOOP_REFUSED: {
    status: 400,
    description:
      'The request carries webhook-id and webhook-signature: one of this service’s own deliveries, come back to ' +
      'its API (a webhook pointed at the service, directly or through a proxy); nothing was read or changed',
    details: nothing,
  },
  INTERNAL_ERROR: {
    status: 500,
    description: 'Anything else; quote X-Request-Id',
    details: nothing,
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    description: 'The database or queue could not be reached or kept conflicting; nothing was written; Retry-After',
    details: z.object({ retryAfter }),
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Each code's HTTP status. */
export const ERROR_STATUS = Object.fromEntries(Object.entries(ERRORS).map(([code, { status }]) => [code, status])) as {
  [C in ErrorCode]: (typeof ERRORS)[C]['status'];
};

/** The details an error with code `C` carries. */
export type ErrorDetailsOf<C extends ErrorCode> = z.output<(typeof ERRORS)[C]['details']>;

export type ErrorDetails = ErrorDetailsOf<ErrorCode>;

interface ApiErrorOptions<C extends ErrorCode> {
  details?: ErrorDetailsOf<C>;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** Options are optional only for codes whose details may be empty. */
type OptionsFor<C extends ErrorCode> =
  Record<string, never> extends ErrorDetailsOf<C>
    ? [options?: ApiErrorOptions<C>]
    : [options: ApiErrorOptions<C> & { details: ErrorDetailsOf<C> }];

/** The one error type handlers throw; `handleError` turns it into the error envelope. */
export class ApiError<C extends ErrorCode = ErrorCode> extends HTTPException {
  readonly code: C;
  readonly details: ErrorDetailsOf<C>;
  readonly headers: Record<string, string>;

  constructor(code: C, message: string, ...[options]: OptionsFor<C>) {
    super(ERROR_STATUS[code], { message, cause: options?.cause });
    this.name = 'ApiError';
    this.code = code;
    this.details = options?.details ?? ({} as ErrorDetailsOf<C>);
    this.headers = options?.headers ?? {};
  }
}

/**
 * 401 with the RFC 6750 challenge. A request that sent no credentials gets no error code (§3.1); one
 * whose credentials failed gets `invalid_token`. The message never contains the token, not even in part.
 */
export function unauthorized(message: string, { credentialsSent = true } = {}): ApiError<'UNAUTHORIZED'> {
  const challenge = credentialsSent ? 'Bearer realm="InstaView", error="invalid_token"' : 'Bearer realm="InstaView"';
  return new ApiError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
}

/** 429 with Retry-After, in seconds, in the header and in the details. */
export function rateLimited(
  message: string,
  retryAfter: number,
  rule: { limit: number; periodSeconds: number },
): ApiError<'RATE_LIMITED'> {
  return new ApiError('RATE_LIMITED', message, {
    details: { retryAfter, limit: rule.limit, periodSeconds: rule.periodSeconds },
    headers: { 'Retry-After': String(retryAfter) },
  });
}

/** 503 with Retry-After: the request may succeed if sent again; nothing was written. */
export function serviceUnavailable(retryAfterSeconds: number): ApiError<'SERVICE_UNAVAILABLE'> {
  return new ApiError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly', {
    details: { retryAfter: retryAfterSeconds },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}
