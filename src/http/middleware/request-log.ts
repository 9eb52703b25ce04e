import { createMiddleware } from 'hono/factory';
import { logError, logInfo } from '../../lib/log.ts';
import type { AppEnv } from '../env.ts';

/**
 * The one log line per request: who, what, outcome, time. Carries ids and codes only; never a token, a
 * secret or a header value (test/request-log.test.ts holds it to that). Written after the response has
 * gone (waitUntil): the caller does not wait for it.
 */
export const requestLog = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const apiKey = c.get('apiKey');
    const failure = c.get('failure');
    const fields = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round(performance.now() - started),
      apiKeyId: apiKey?.id,
      accountId: apiKey?.accountId,
      errorCode: c.get('errorCode'),
      tokenCache: c.get('tokenCache'),
      rateLimiter: c.get('rateLimiter'),
      unknownKeyLimiter: c.get('unknownKeyLimiter'),
      clientAbort: c.get('clientAbort'),
      idempotentReplay: c.res.headers.has('Idempotent-Replayed') || undefined,
      ...failure,
    };
    const write = () => (fields.status >= 500 ? logError('request', fields) : logInfo('request', fields));
    c.executionCtx.waitUntil(scheduler.wait(0).then(write));
  });
