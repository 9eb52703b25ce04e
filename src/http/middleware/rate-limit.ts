import { createMiddleware } from 'hono/factory';
import { readConfig, type ServiceConfig } from '../../config.ts';
import { takeRateLimit } from '../../lib/rate-limit.ts';
import type { AppEnv } from '../env.ts';
import { rateLimited } from '../errors.ts';

type KeyedRule = Exclude<keyof ServiceConfig['rateLimits'], 'unknownKeys'>;

/** Which binding (wrangler.toml [[ratelimits]]) counts each per-key rule, and how a refusal reads. */
const RULES: Record<KeyedRule, { binding: (env: Env) => RateLimit | undefined; what: string }> = {
  create: { binding: (env) => env.CREATE_WEBHOOK_RATE_LIMITER, what: 'webhook creations' },
};

/** Limits requests per API key under `rule`; over it, 429 RATE_LIMITED with Retry-After. */
export const rateLimit = (rule: KeyedRule) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const limits = readConfig(c.env).rateLimits[rule];
    const verdict = await takeRateLimit(RULES[rule].binding(c.env), `${rule}:${c.var.apiKey.id}`, limits);
    c.set('rateLimiter', verdict.source);
    if (!verdict.allowed) {
      const retryAfter = verdict.retryAfterSeconds;
      throw rateLimited(`Too many ${RULES[rule].what} with this API key; retry in ${retryAfter} s`, retryAfter, {
        ...limits,
      });
    }
    await next();
  });
