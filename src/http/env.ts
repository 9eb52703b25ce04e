import type { RequestIdVariables } from 'hono/request-id';
import type { ApiKey } from '../auth/api-key.ts';
import type { CacheOutcome } from '../auth/token-cache.ts';
import type { Database } from '../db/client.ts';
import type { IdempotentRequest } from '../idempotency/idempotency-key.ts';
import type { LogFields } from '../lib/log.ts';
import type { LimiterSource, LimitVerdict } from '../lib/rate-limit.ts';
import type { PortalSession } from '../portal/session-token.ts';
import type { ErrorCode } from './errors.ts';

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** The request's database, built on first use. */
    db: () => Database;
    /** Set by `admit`. */
    apiKey: ApiKey;
    /** Set by `admit` when the request came with a portal session's token instead of an API key. */
    portalSession?: PortalSession;
    /** The key's rate-limit count, started by `admit` while the key is looked up. */
    rateLimitCount?: Promise<LimitVerdict>;
    /** The parsed JSON body, set by `jsonBody`. */
    body?: unknown;
    /** Set by `idempotencyKey` when the request carries one. */
    idempotency?: IdempotentRequest;
    // For the request log:
    tokenCache?: CacheOutcome;
    rateLimiter?: LimiterSource;
    /** Set when a lookup found no key and was counted against the client's address. */
    unknownKeyLimiter?: LimiterSource;
    errorCode?: ErrorCode;
    /** The client went away before its body arrived: its own doing, not a server fault. */
    clientAbort?: true;
    /** What went wrong on a 5xx, as `describeError` puts it. */
    failure?: LogFields;
  };
}
