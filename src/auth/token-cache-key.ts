// Separate from token-cache.ts so the operator CLI (Node) can name entries without Workers types.
const KEY_PREFIX = 'api-key:v1:';

/** KV key of a token's cache entry. Versioned: a new entry shape gets a new prefix, not a parse error. */
export function tokenCacheKey(tokenHash: string): string {
  return KEY_PREFIX + tokenHash;
}
