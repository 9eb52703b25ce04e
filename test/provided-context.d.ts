// What test/global-setup.ts hands to vitest.config.ts and the tests through provide()/inject().
import 'vitest';

interface SqlEndpoint {
  /** The connection string the Worker uses to reach the database through this endpoint. */
  databaseUrl: string;
  /** Where its /statements, /faults, /distance and /round-trips routes are. */
  controlUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'postgres' | 'pglite';
    sqlEndpoint: SqlEndpoint;
    faultySqlEndpoint: SqlEndpoint;
    /** http://127.0.0.1:port of the webhook receiver (scripts/local/webhook-receiver.ts). */
    receiver: string;
  }
}
