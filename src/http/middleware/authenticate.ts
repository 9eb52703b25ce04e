import type { Context } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { type ApiKey, keyRejection } from '../../auth/api-key.ts';
import { findApiKeyByTokenHash } from '../../auth/api-key-store.ts';
import { hashApiToken, isWellFormedApiToken } from '../../auth/api-token.ts';
import { cacheOutcome, TokenCache } from '../../auth/token-cache.ts';
import {
  CLIENT_ADDRESS_HEADER,
  clientAddress,
  countUnknownKey,
  unknownKeyBlock,
} from '../../auth/unknown-key-guard.ts';
import { readConfig } from '../../config.ts';
import type { AppEnv } from '../env.ts';
import { rateLimited, unauthorized } from '../errors.ts';

type Failure = 'malformed' | 'unknown' | 'revoked' | 'expired';

const FAILURE_MESSAGE: Record<Failure, string> = {
  malformed: 'API key is malformed; keys look like sk_ followed by 43 characters',
  unknown: 'API key is not valid',
  revoked: 'API key has been revoked',
  expired: 'API key has expired',
};

function reject(message: string, credentialsSent = true): never {
  throw unauthorized(message, { credentialsSent });
}

/**
 * Hash → KV → (on a miss) Postgres, refilling KV after the response. Never trusts a failed KV read.
 * A client address over its budget of unknown keys gets no lookup at all (auth/unknown-key-guard.ts).
 */
async function resolveApiKey(c: Context<AppEnv>, token: string): Promise<ApiKey | Failure> {
  if (!isWellFormedApiToken(token)) return 'malformed';
  const tokenHash = await hashApiToken(token);
  const config = readConfig(c.env);
  const cache = new TokenCache(c.env.TOKEN_CACHE, config.tokenCacheTtlSeconds);
  const cached = await cache.lookup(tokenHash);
  c.set('tokenCache', cacheOutcome(cached));
  if (cached.kind === 'unknown-token') return 'unknown';
  let key = cached.kind === 'hit' ? cached.key : null;
  if (!key) {
    const address = clientAddress(c.req.header(CLIENT_ADDRESS_HEADER));
    const retryAfter = unknownKeyBlock(address);
    if (retryAfter !== undefined) {
      throw rateLimited(
        `Too many requests with unknown API keys from this address; retry in ${retryAfter} s`,
        retryAfter,
        { ...config.rateLimits.unknownKeys },
      );
    }
    key = await findApiKeyByTokenHash(c.var.db(), tokenHash);
    c.executionCtx.waitUntil(cache.remember(tokenHash, key));
    if (!key) {
      c.set(
        'unknownKeyLimiter',
        await countUnknownKey(c.env.UNKNOWN_KEY_RATE_LIMITER, address, config.rateLimits.unknownKeys),
      );
      return 'unknown';
    }
  }
  // Checked on every request, cache hit or not: a cached key stays valid only until it expires.
  return keyRejection(key, Date.now()) ?? key;
}

/** Bearer API key authentication; sets `apiKey`. Every failure is a 401 with WWW-Authenticate. */
export const authenticate = () =>
  bearerAuth({
    verifyToken: async (token, c: Context<AppEnv>) => {
      const result = await resolveApiKey(c, token);
      if (typeof result === 'string') reject(FAILURE_MESSAGE[result]);
      c.set('apiKey', result);
      return true;
    },
    noAuthenticationHeader: {
      message: () => reject('Missing API key; send "Authorization: Bearer <API key>"', false),
    },
    invalidAuthenticationHeader: {
      message: () => reject('Authorization header must be "Bearer <API key>"'),
    },
    invalidToken: { message: () => reject(FAILURE_MESSAGE.unknown) },
  });
