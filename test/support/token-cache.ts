import { env } from 'cloudflare:workers';
import { hashApiToken } from '../../src/auth/api-token.ts';
import { tokenCacheKey } from '../../src/auth/token-cache-key.ts';

/**
 * The token's cache entry, once the write the Worker left to waitUntil has landed (the response does
 * not wait for it, so the test does).
 */
export async function cachedEntry(token: string): Promise<{ value: unknown; expiration: number | undefined }> {
  const name = tokenCacheKey(await hashApiToken(token));
  for (let attempt = 0; attempt < 100; attempt++) {
    const { keys } = await env.TOKEN_CACHE.list({ prefix: name });
    if (keys[0]) return { value: await env.TOKEN_CACHE.get(name, 'json'), expiration: keys[0].expiration };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { value: null, expiration: undefined };
}
