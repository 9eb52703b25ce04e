import type { RequestIdVariables } from 'hono/request-id';
import type { ApiKey } from './auth/api-key.ts';
import type { CacheOutcome } from './auth/token-cache.ts';
import type { Database } from './db/client.ts';
import type { IdempotentRequest } from './idempotency/idempotency-key.ts';
import type { ErrorCode } from './lib/api-error.ts';
import type { LogFields } from './lib/log.ts';

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** The request's database, connected on first use. */
    db: () => Database;
    /** Starts connecting the request's database without waiting. */
    preconnect: () => void;
    /** Set by `authenticate`. */
    apiKey: ApiKey;
    /** Set by `idempotencyKey` when the request carries one. */
    idempotency?: IdempotentRequest;
    // For the request log:
    tokenCache?: CacheOutcome;
    rateLimiter?: 'binding' | 'fallback';
    errorCode?: ErrorCode;
    /** What went wrong on a 5xx, as `describeError` puts it. */
    failure?: LogFields;
  };
}
