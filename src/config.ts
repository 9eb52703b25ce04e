import { KV_MIN_TTL_SECONDS } from './lib/kv.ts';
import type { RateLimitRule } from './lib/rate-limit.ts';

/**
 * The longest a resolved API key may stay in TOKEN_CACHE, whatever is configured: it bounds how long a
 * revoked key can keep working if a lookup races its revocation (README: "Revoking a key").
 */
export const MAX_TOKEN_CACHE_TTL_SECONDS = 3600;

export interface ServiceConfig {
  tokenCacheTtlSeconds: number;
  /** Default cap on an account's webhooks; accounts.max_webhooks overrides it per account. */
  maxWebhooksPerAccount: number;
  /** Per-rule limits; each binding's own copy of these numbers is in wrangler.toml. */
  rateLimits: {
    /** Webhook creations per API key. */
    create: RateLimitRule;
    /** Reads (GET) per API key. */
    read: RateLimitRule;
    /** Writes other than create per API key. */
    write: RateLimitRule;
    /** Key lookups that found no key, per client address. */
    unknownKeys: RateLimitRule;
  };
}

function positiveInteger(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
}

// Parsed once per env object (one per isolate in production) rather than on each of a request's reads.
const parsed = new WeakMap<Env, ServiceConfig>();

export function readConfig(env: Env): ServiceConfig {
  let config = parsed.get(env);
  if (!config) {
    config = parseConfig(env);
    parsed.set(env, config);
  }
  return config;
}

function parseConfig(env: Env): ServiceConfig {
  const ttl = positiveInteger(env.TOKEN_CACHE_TTL_SECONDS, 300);
  return {
    // KV refuses shorter TTLs; a setting outside the bounds is clamped rather than failing every request.
    tokenCacheTtlSeconds: Math.min(MAX_TOKEN_CACHE_TTL_SECONDS, Math.max(KV_MIN_TTL_SECONDS, ttl)),
    maxWebhooksPerAccount: positiveInteger(env.MAX_WEBHOOKS_PER_ACCOUNT, 100),
    rateLimits: {
      create: { limit: positiveInteger(env.CREATE_WEBHOOK_RATE_LIMIT, 60), periodSeconds: 60 },
      read: { limit: positiveInteger(env.READ_RATE_LIMIT, 600), periodSeconds: 60 },
      write: { limit: positiveInteger(env.WRITE_RATE_LIMIT, 120), periodSeconds: 60 },
      unknownKeys: { limit: positiveInteger(env.UNKNOWN_KEY_RATE_LIMIT, 20), periodSeconds: 60 },
    },
  };
}
