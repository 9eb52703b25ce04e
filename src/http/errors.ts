import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code the API answers with, and its HTTP status. The OpenAPI document lists them all. */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  INSUFFICIENT_PERMISSIONS: 403,
  RESOURCE_ACCESS_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PAYLOAD_TOO_LARGE: 413,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  WEBHOOK_LIMIT_REACHED: 422,
  PING_NOT_SUBSCRIBED: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type ErrorDetails = Record<string, unknown>;

interface ApiErrorOptions {
  details?: ErrorDetails;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The one error type handlers throw; `handleError` turns it into the error envelope. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, { details = {}, headers = {}, cause }: ApiErrorOptions = {}) {
    super(ERROR_STATUS[code], { message, cause });
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

/**
 * 401 with the RFC 6750 challenge. A request that sent no credentials gets no error code (§3.1); one
 * whose credentials failed gets `invalid_token`. The message never contains the token, not even in part.
 */
export function unauthorized(message: string, { credentialsSent = true } = {}): ApiError {
  const challenge = credentialsSent ? 'Bearer realm="InstaView", error="invalid_token"' : 'Bearer realm="InstaView"';
  return new ApiError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
}

/** 429 with Retry-After, in seconds, in the header and in the details. */
export function rateLimited(message: string, retryAfter: number, details: ErrorDetails = {}): ApiError {
  return new ApiError('RATE_LIMITED', message, {
    details: { retryAfter, ...details },
    headers: { 'Retry-After': String(retryAfter) },
  });
}

/** 503 with Retry-After: the request may succeed if sent again; nothing was written. */
export function serviceUnavailable(retryAfterSeconds: number): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly', {
    details: { retryAfter: retryAfterSeconds },
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}
