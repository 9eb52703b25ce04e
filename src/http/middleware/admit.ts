// Admission: who the caller is (Bearer API key: hash → KV → Postgres on a miss), whether the key may do
// this (scope), and how often (the per-key rate limit). One middleware because the key's rate-limit count
// needs only the token, not the key record: it is taken while the key is looked up, so a request waits
// for one platform round trip instead of two. The answers still come in the contract's order:
// 401 → 403 scope → 429 (test/errors.test.ts "the order of checks").
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { type ApiKey, keyRejection, type Scope } from '../../auth/api-key.ts';
import { findApiKeyByTokenHash } from '../../auth/api-key-store.ts';
import { hashApiToken, isWellFormedApiToken } from '../../auth/api-token.ts';
import { cacheOutcome, TokenCache } from '../../auth/token-cache.ts';
import {
  CLIENT_ADDRESS_HEADER,
  clientAddress,
  countUnknownKey,
  unknownKeyBlock,
} from '../../auth/unknown-key-guard.ts';
import { readConfig, type ServiceConfig } from '../../config.ts';
import { takeRateLimit } from '../../lib/rate-limit.ts';
import { secretBox } from '../../lib/secret-box.ts';
import { type Documented, documented } from '../../openapi/describe.ts';
import { isPortalToken, openPortalSession, type PortalSession, sessionKey } from '../../portal/session-token.ts';
import type { AppEnv } from '../env.ts';
import { ApiError, rateLimited, unauthorized } from '../errors.ts';

/** The per-key rate limits (config.rateLimits), each counted by its own binding (wrangler.toml). */
export type KeyedRateLimit = Exclude<keyof ServiceConfig['rateLimits'], 'unknownKeys'>;

const RATE_LIMITS: Record<KeyedRateLimit, { binding: (env: Env) => RateLimit | undefined; what: string }> = {
  create: { binding: (env) => env.CREATE_WEBHOOK_RATE_LIMITER, what: 'webhook creations' },
  read: { binding: (env) => env.READ_RATE_LIMITER, what: 'reads' },
  write: { binding: (env) => env.WRITE_RATE_LIMITER, what: 'writes' },
};

export interface Admission {
  scope: Scope;
  rateLimit: KeyedRateLimit;
}

type Failure =
  | 'malformed'
  | 'unknown'
  | 'revoked'
  | 'expired'
  | 'session-malformed'
  | 'session-expired'
  | 'session-ended';

/** What someone holding a dead key can do about it (README "Operator CLI"). */
const NEW_KEY =
  'ask your InstaView account administrator for a new key (on npm run dev: npm run -s cli -- keys create ' +
  '--account <account id> --scopes write:webhooks,read:webhooks)';

const FAILURE_MESSAGE: Record<Failure, string> = {
  malformed: 'API key is malformed; keys look like sk_ followed by 43 characters',
  unknown: 'API key is not valid',
  revoked: `API key has been revoked; ${NEW_KEY}`,
  expired: `API key has expired; ${NEW_KEY}`,
  'session-malformed': 'Portal link is not valid; open a new one from where you got this one',
  'session-expired': 'Portal link has expired; open a new one from where you got this one',
  'session-ended':
    'Portal link no longer works: the API key that opened it was revoked or has expired; ask for a new link',
};

/** A portal session's key failures say what to do with the link, not with a key its holder never saw. */
const SESSION_FAILURE: Partial<Record<Failure, Failure>> = {
  malformed: 'session-malformed',
  unknown: 'session-malformed',
  revoked: 'session-ended',
  expired: 'session-ended',
};

/** The token's hash to look the key up by: an API key's own, or the one its portal session names. */
async function keyTokenHash(
  c: Context<AppEnv>,
  token: string,
): Promise<{ tokenHash: string; session?: PortalSession } | Failure> {
  if (isPortalToken(token)) {
    const session = await openPortalSession(secretBox(c.env.ENCRYPTION_KEYS), token);
    if (!session) return 'session-malformed';
    if (session.expiresAt <= Date.now()) return 'session-expired';
    return { tokenHash: session.keyTokenHash, session };
  }
  if (!isWellFormedApiToken(token)) return 'malformed';
  return { tokenHash: await hashApiToken(token) };
}

function reject(message: string, credentialsSent = true): never {
  throw unauthorized(message, { credentialsSent });
}

/**
 * Hash → KV → (on a miss) Postgres, refilling KV after the response. Never trusts a failed KV read.
 * A client address over its budget of unknown keys gets no lookup at all (auth/unknown-key-guard.ts).
 * `alongside` starts with the KV read, on the token's hash.
 */
async function resolveApiKey(
  c: Context<AppEnv>,
  token: string,
  alongside: (tokenHash: string) => void,
): Promise<ApiKey | Failure> {
  const credential = await keyTokenHash(c, token);
  if (typeof credential === 'string') return credential;
  const { tokenHash, session } = credential;
  if (session) c.set('portalSession', session);
  alongside(tokenHash);
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
        config.rateLimits.unknownKeys,
      );
    }
    key = await findApiKeyByTokenHash(c.get('db')(), tokenHash);
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
  const rejection = keyRejection(key, Date.now());
  if (rejection) return rejection;
  return session ? sessionKey(key, session) : key;
}

/** Authenticates, checks the scope, enforces the rate limit; sets `apiKey`. */
export function admit({ scope, rateLimit }: Admission): Documented<MiddlewareHandler<AppEnv>> {
  const limit = RATE_LIMITS[rateLimit];
  const authenticate = bearerAuth({
    verifyToken: async (token, c: Context<AppEnv>) => {
      // Counted per key through its token's hash (one token per key), so it can start before the key is known.
      const startCount = (tokenHash: string) => {
        c.set(
          'rateLimitCount',
          takeRateLimit(limit.binding(c.env), `${rateLimit}:${tokenHash}`, readConfig(c.env).rateLimits[rateLimit]),
        );
      };
      const result = await resolveApiKey(c, token, startCount);
      if (typeof result === 'string') {
        reject(FAILURE_MESSAGE[(c.get('portalSession') && SESSION_FAILURE[result]) || result]);
      }
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
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    await authenticate(c, async () => {
      if (!c.get('apiKey').scopes.includes(scope)) {
        throw new ApiError('INSUFFICIENT_PERMISSIONS', `API key lacks the ${scope} scope`, {
          details: { requiredScope: scope },
        });
      }
      const verdict = await c.get('rateLimitCount');
      if (!verdict) throw new Error('admission: the rate-limit count was never started');
      c.set('rateLimiter', verdict.source);
      if (!verdict.allowed) {
        const retryAfter = verdict.retryAfterSeconds;
        throw rateLimited(
          `Too many ${limit.what} with this API key; retry in ${retryAfter} s`,
          retryAfter,
          readConfig(c.env).rateLimits[rateLimit],
        );
      }
      await next();
    });
  };
  // A key lookup on a cache miss can meet an unreachable database.
  return documented(middleware, {
    scope,
    errors: ['UNAUTHORIZED', 'INSUFFICIENT_PERMISSIONS', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE'],
  });
}
