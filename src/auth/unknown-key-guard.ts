// Bounds what a client can cost before it is authenticated. Tokens nobody issued are answered from the
// negative cache after their first lookup, but a client sending ever new random tokens would make every
// one of them a Postgres lookup. Lookups that found no key are counted per client address with the
// rate-limiting binding; once an address is over its limit, a token that misses the cache is refused
// with 429 before KV is written or Postgres is asked (test/token-flood.test.ts). Valid keys are never
// counted, so many new keys from one address keep working.
import type { RateLimitRule } from '../lib/rate-limit.ts';
import { type LimiterSource, takeRateLimit } from '../lib/rate-limit.ts';

/** Where Cloudflare puts the client's address; absent locally, where every client shares one bucket. */
export const CLIENT_ADDRESS_HEADER = 'CF-Connecting-IP';
const SHARED_BUCKET = 'unknown-address';
const MAX_BLOCKED_ADDRESSES = 10_000;

/**
 * Addresses the binding has reported over the limit, until when (ms). The binding can only count, not
 * be asked without counting; this isolate remembers its verdict so a blocked address costs nothing.
 * Each isolate learns it on its own, so across isolates an address may get one extra lookup each.
 */
const blockedUntil = new Map<string, number>();

export function clientAddress(header: string | undefined): string {
  return header?.trim() || SHARED_BUCKET;
}

/** Seconds until `address` may look up unknown tokens again, or undefined when it may now. */
export function unknownKeyBlock(address: string, now = Date.now()): number | undefined {
  const until = blockedUntil.get(address);
  if (until === undefined) return undefined;
  if (until <= now) {
    blockedUntil.delete(address);
    return undefined;
  }
  return Math.max(1, Math.ceil((until - now) / 1000));
}

/** Counts a lookup that found no key; returns which limiter counted it. */
export async function countUnknownKey(
  binding: RateLimit | undefined,
  address: string,
  rule: RateLimitRule,
): Promise<LimiterSource> {
  const verdict = await takeRateLimit(binding, `unknown-key:${address}`, rule);
  if (!verdict.allowed) {
    if (blockedUntil.size >= MAX_BLOCKED_ADDRESSES) {
      const now = Date.now();
      for (const [blocked, until] of blockedUntil) if (until <= now) blockedUntil.delete(blocked);
      if (blockedUntil.size >= MAX_BLOCKED_ADDRESSES) blockedUntil.clear();
    }
    blockedUntil.set(address, Date.now() + verdict.retryAfterSeconds * 1000);
  }
  return verdict.source;
}
