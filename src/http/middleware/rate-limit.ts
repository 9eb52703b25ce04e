import { createMiddleware } from 'hono/factory';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../lib/api-error.ts';
import { FixedWindowLimiter } from '../lib/fixed-window-limiter.ts';

const fallback = new FixedWindowLimiter();

/**
 * Limits webhook creations per API key with the Workers rate-limiting binding (configured in
 * wrangler.toml), falling back to a per-isolate limiter when the binding is missing or throws.
 */
export const rateLimitCreates = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const { limit, periodSeconds } = readConfig(c.env).createRateLimit;
    const key = c.var.apiKey.id;
    let retryAfter: number | undefined;
    try {
      const binding = c.env.CREATE_WEBHOOK_RATE_LIMITER as RateLimit | undefined;
      if (!binding) throw new Error('CREATE_WEBHOOK_RATE_LIMITER is not bound');
      const { success } = await binding.limit({ key });
      // The binding does not say when its window resets; a full period is the wait that always suffices.
      if (!success) retryAfter = periodSeconds;
      c.set('rateLimiter', 'binding');
    } catch {
      const verdict = fallback.take(key, limit, periodSeconds * 1000, Date.now());
      if (!verdict.allowed) retryAfter = verdict.retryAfterSeconds;
      c.set('rateLimiter', 'fallback');
    }
    if (retryAfter !== undefined) {
      throw new ApiError('RATE_LIMITED', `Too many webhook creations with this API key; retry in ${retryAfter} s`, {
        details: { retryAfter, limit, periodSeconds },
        headers: { 'Retry-After': String(retryAfter) },
      });
    }
    await next();
  });
