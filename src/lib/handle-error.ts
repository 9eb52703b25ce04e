import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isDatabaseUnavailable } from '../db/errors.ts';
import type { AppEnv } from '../env.ts';
import { ApiError, ERROR_STATUS, type ErrorCode } from './api-error.ts';
import { errorEnvelope } from './envelope.ts';
import { describeError, logError } from './log.ts';

const RETRY_AFTER_SECONDS = 5;

export function respond(c: Context<AppEnv>, error: ApiError): Response {
  return c.json(errorEnvelope(error.code, error.message, error.details), ERROR_STATUS[error.code], error.headers);
}

/** Turns whatever a handler threw into the error envelope. Internals never reach the client. */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) return respond(c, error);
  if (isDatabaseUnavailable(error)) {
    logError('database unavailable', { requestId: c.var.requestId, ...describeError(error) });
    return respond(
      c,
      new ApiError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly', {
        details: { retryAfter: RETRY_AFTER_SECONDS },
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      }),
    );
  }
  if (error instanceof HTTPException && error.status < 500) {
    // A Hono built-in refused the request; keep its status under the matching documented code.
    const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find(
      (candidate) => ERROR_STATUS[candidate] === error.status,
    );
    if (code) return respond(c, new ApiError(code, error.message));
  }
  logError('unhandled error', { requestId: c.var.requestId, ...describeError(error) });
  return respond(
    c,
    new ApiError('INTERNAL_ERROR', 'An internal error occurred; quote the X-Request-Id header if you contact support'),
  );
}
