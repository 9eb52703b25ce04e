import { KV_MIN_TTL_SECONDS } from './auth/token-cache.ts';

export interface ServiceConfig {
  tokenCacheTtlSeconds: number;
  /** Default cap on an account's webhooks; accounts.max_webhooks overrides it per account. */
  maxWebhooksPerAccount: number;
  /** Creations per API key per period; the binding's own copy of these numbers is in wrangler.toml. */
  createRateLimit: { limit: number; periodSeconds: number };
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
  return {
    // KV refuses shorter TTLs; a lower setting is raised rather than failing every cache write.
    tokenCacheTtlSeconds: Math.max(KV_MIN_TTL_SECONDS, positiveInteger(env.TOKEN_CACHE_TTL_SECONDS, 300)),
    maxWebhooksPerAccount: positiveInteger(env.MAX_WEBHOOKS_PER_ACCOUNT, 100),
    createRateLimit: { limit: positiveInteger(env.CREATE_WEBHOOK_RATE_LIMIT, 60), periodSeconds: 60 },
  };
}
