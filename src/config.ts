import { KV_MIN_TTL_SECONDS } from './lib/kv.ts';
import type { RateLimitRule } from './lib/rate-limit.ts';

/**
 * The longest a resolved API key may stay in TOKEN_CACHE, whatever is configured: it bounds how long a
 * revoked key can keep working if a lookup races its revocation (README: "Revoking a key").
 */
export const MAX_TOKEN_CACHE_TTL_SECONDS = 3600;

/** Waits before each retry, in seconds (DELIVERY_RETRY_SCHEDULE): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
/** The longest wait between attempts, a Retry-After's included (in queue trips of at most 12 h: messages.ts). */
export const MAX_RETRY_DELAY_SECONDS = 86_400;

export interface DeliveryConfig {
  retryScheduleSeconds: number[];
  circuitFailureThreshold: number;
  circuitCoolDownSeconds: number;
  /** Dev and tests only: receivers on loopback addresses (localhost) may be sent to. Private ones never. */
  allowPrivateTargets: boolean;
  /** This service's public hostnames (SERVICE_HOSTNAMES): never sent to, as *.workers.dev is not. */
  serviceHostnames: string[];
  /** Redelivers of one delivery, and tests of one webhook, per minute (REPLAY_RATE_LIMITER's numbers). */
  replays: RateLimitRule;
  /** Failing this long without a success disables a webhook (AUTO_DISABLE_AFTER_SECONDS, 5 days). */
  autoDisableAfterSeconds: number;
  /** Where every account's state-change events also go, signed with its secret; null when not set. */
  operationsWebhook: { url: string; secret: string } | null;
}

/** Optional secrets: absent from wrangler.toml's required list, so not in the generated Env. */
interface OptionalSecrets {
  OPERATIONS_WEBHOOK_URL?: string;
  OPERATIONS_WEBHOOK_SECRET?: string;
}

function operationsWebhook(env: OptionalSecrets): DeliveryConfig['operationsWebhook'] {
  const url = env.OPERATIONS_WEBHOOK_URL?.trim();
  const secret = env.OPERATIONS_WEBHOOK_SECRET?.trim();
  return url && secret ? { url, secret } : null;
}

export interface ServiceConfig {
  delivery: DeliveryConfig;
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

/** Comma-separated whole seconds, each 0…24 h; anything unreadable falls back to the default schedule. */
function retrySchedule(value: string | undefined): number[] {
  const steps = (value ?? '').split(',').map((step) => Number(step.trim()));
  const valid =
    steps.length > 0 && steps.every((step) => Number.isInteger(step) && step >= 0 && step <= MAX_RETRY_DELAY_SECONDS);
  return valid && value?.trim() ? steps : DEFAULT_RETRY_SCHEDULE;
}

function parseConfig(env: Env): ServiceConfig {
  const ttl = positiveInteger(env.TOKEN_CACHE_TTL_SECONDS, 300);
  return {
    delivery: {
      retryScheduleSeconds: retrySchedule(env.DELIVERY_RETRY_SCHEDULE),
      circuitFailureThreshold: positiveInteger(env.CIRCUIT_FAILURE_THRESHOLD, 10),
      circuitCoolDownSeconds: positiveInteger(env.CIRCUIT_COOL_DOWN_SECONDS, 3600),
      allowPrivateTargets: env.DELIVERY_ALLOW_PRIVATE_TARGETS === 'true',
      serviceHostnames: (env.SERVICE_HOSTNAMES ?? '')
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter((name) => name !== ''),
      replays: { limit: positiveInteger(env.REPLAY_RATE_LIMIT, 10), periodSeconds: 60 },
      autoDisableAfterSeconds: positiveInteger(env.AUTO_DISABLE_AFTER_SECONDS, 5 * 86_400),
      operationsWebhook: operationsWebhook(env as Env & OptionalSecrets),
    },
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
