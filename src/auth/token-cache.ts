// Workers KV in front of the api_keys table, keyed by the token's SHA-256. Positive entries live for the
// configured TTL, unknown tokens for KV's 60 s minimum so a flood of bad tokens does not reach Postgres.
// A KV failure or an unreadable entry is a miss, never an answer: the caller then asks Postgres.
import { describeError, logWarn } from '../lib/log.ts';
import { type ApiKey, isApiKey } from './api-key.ts';
import { tokenCacheKey } from './token-cache-key.ts';

export const KV_MIN_TTL_SECONDS = 60;

export type CacheLookup = { kind: 'hit'; key: ApiKey } | { kind: 'unknown-token' } | { kind: 'miss' };

type Entry = { key: ApiKey } | { unknown: true };

export class TokenCache {
  private readonly kv: KVNamespace;
  private readonly ttlSeconds: number;

  constructor(kv: KVNamespace, ttlSeconds: number) {
    this.kv = kv;
    this.ttlSeconds = ttlSeconds;
  }

  async lookup(tokenHash: string): Promise<CacheLookup> {
    let entry: unknown;
    try {
      entry = await this.kv.get(tokenCacheKey(tokenHash), 'json');
    } catch (error) {
      logWarn('token cache read failed', describeError(error));
      return { kind: 'miss' };
    }
    if (typeof entry !== 'object' || entry === null) return { kind: 'miss' };
    if ('unknown' in entry && entry.unknown === true) return { kind: 'unknown-token' };
    if ('key' in entry && isApiKey(entry.key)) return { kind: 'hit', key: entry.key };
    return { kind: 'miss' };
  }

  /** Remembers a lookup result; `null` records an unknown token. Failures are logged, not thrown. */
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
