import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import * as z from 'zod/mini';
import { DatabaseConfigurationError } from '../db/client.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { describeError } from '../lib/log.ts';
import type { AppEnv } from './env.ts';
import { errorEnvelope } from './envelope.ts';
import { ApiError, ERROR_STATUS, ERRORS, type ErrorCode, type ErrorDetailsOf, serviceUnavailable } from './errors.ts';

const RETRY_AFTER_SECONDS = 5;

export function respond(c: Context<AppEnv>, error: ApiError): Response {
  c.set('errorCode', error.code);
  return c.json(errorEnvelope(error.code, error.message, error.details), ERROR_STATUS[error.code], error.headers);
}

/**
 * Turns whatever a handler threw into the error envelope. Internals never reach the client; what went
 * wrong goes to the request log line instead.
 */
export function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ApiError) return respond(c, error);
  if (error instanceof DatabaseConfigurationError) {
    c.set('failure', { failure: 'database misconfigured', setting: error.setting });
    return respond(c, serviceUnavailable(RETRY_AFTER_SECONDS));
  }
  if (isDatabaseUnavailable(error)) {
    c.set('failure', { failure: 'database unavailable', ...describeError(error) });
    return respond(c, serviceUnavailable(RETRY_AFTER_SECONDS));
  }
  if (error instanceof HTTPException && error.status < 500) {
    // A Hono built-in refused the request; keep its status under the documented code for it whose
    // details may be empty (a built-in has none to give).
    const code = (Object.keys(ERRORS) as ErrorCode[]).find(
      (candidate) => ERRORS[candidate].status === error.status && z.safeParse(ERRORS[candidate].details, {}).success,
    );
    if (code) return respond(c, new ApiError(code, error.message, { details: {} as ErrorDetailsOf<typeof code> }));
  }
  c.set('failure', { failure: 'unhandled error', ...describeError(error) });
  return respond(
    c,
    new ApiError('INTERNAL_ERROR', 'An internal error occurred; quote the X-Request-Id header if you contact support'),
  );
}
