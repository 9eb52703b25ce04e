import type { RequestIdVariables } from 'hono/request-id';
import type { ApiKey } from './auth/api-key.ts';
import type { Database } from './db/client.ts';

export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & {
    /** The request's database, connected on first use. */
    db: () => Database;
    /** Set by `authenticate`. */
    apiKey: ApiKey;
  };
}
