// Workers KV in front of the api_keys table, keyed by the token's SHA-256. Positive entries live for the
// configured TTL, unknown tokens for KV's 60 s minimum so a flood of bad tokens does not reach Postgres.
// A KV failure or an unreadable entry is a miss, never an answer: the caller then asks Postgres.
// The outcome of every lookup is on the request's log line.
import { KV_MIN_TTL_SECONDS } from '../lib/kv.ts';
import { describeError, logWarn } from '../lib/log.ts';
import { type ApiKey, isApiKey } from './api-key.ts';
import { tokenCacheKey } from './token-cache-key.ts';

export type CacheLookup =
  | { kind: 'hit'; key: ApiKey }
  | { kind: 'unknown-token' }
  | { kind: 'miss'; reason: 'absent' | 'unreadable' | 'kv-error' };

/** How the cache answered, for the request log. */
export type CacheOutcome = 'hit' | 'negative-hit' | 'absent' | 'unreadable' | 'kv-error';

export function cacheOutcome(lookup: CacheLookup): CacheOutcome {
  if (lookup.kind === 'hit') return 'hit';
  if (lookup.kind === 'unknown-token') return 'negative-hit';
  return lookup.reason;
}

type Entry = { key: ApiKey } | { unknown: true };

export class TokenCache {
  private readonly kv: KVNamespace;
  private readonly ttlSeconds: number;

  constructor(kv: KVNamespace, ttlSeconds: number) {
    this.kv = kv;
    this.ttlSeconds = ttlSeconds;
  }

  async lookup(tokenHash: string): Promise<CacheLookup> {
    let text: string | null;
    try {
      text = await this.kv.get(tokenCacheKey(tokenHash), 'text');
    } catch {
      return { kind: 'miss', reason: 'kv-error' };
    }
    if (text === null) return { kind: 'miss', reason: 'absent' };
    let entry: unknown;
    try {
      entry = JSON.parse(text);
    } catch {
      return { kind: 'miss', reason: 'unreadable' };
    }
    if (typeof entry !== 'object' || entry === null) return { kind: 'miss', reason: 'unreadable' };
    if ('unknown' in entry && entry.unknown === true) return { kind: 'unknown-token' };
    if ('key' in entry && isApiKey(entry.key)) return { kind: 'hit', key: entry.key };
    return { kind: 'miss', reason: 'unreadable' };
  }

  /**
   * Remembers a lookup result; `null` records an unknown token. Runs after the response (waitUntil), so
   * a failure gets its own log line instead of failing the request.
   */
  async remember(tokenHash: string, key: ApiKey | null): Promise<void> {
    const entry: Entry = key ? { key } : { unknown: true };
    const expirationTtl = key ? this.ttlSeconds : KV_MIN_TTL_SECONDS;
    try {
      await this.kv.put(tokenCacheKey(tokenHash), JSON.stringify(entry), { expirationTtl });
    } catch (error) {
      logWarn('token cache write failed', describeError(error));
    }
  }

  async evict(tokenHash: string): Promise<void> {
    await this.kv.delete(tokenCacheKey(tokenHash));
  }
}
